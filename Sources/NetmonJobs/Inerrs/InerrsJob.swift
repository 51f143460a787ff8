import BPFKit
import CNetmonBPF

/// inerrs.bpf.c: one record per incoming TCP segment the kernel rejects for one of the selected
/// reasons, with the running kernel's reason names and the socket's holder; decoded into
/// `RejectedSegment`s. What `netmon inerrs` prints, and what `netmon serve` counts (the default
/// reasons, every process, both families).
public final class InerrsJob: EventJob {
    public struct Configuration: Sendable {
        /// Also the resource and socket-lifecycle reasons (--all).
        public var all: Bool
        /// Only segments for sockets this process holds.
        public var ownerPID: UInt32?
        public var family: AddressFamilyFilter

        public init(all: Bool = false, ownerPID: UInt32? = nil, family: AddressFamilyFilter = .both) {
            self.all = all
            self.ownerPID = ownerPID
            self.family = family
        }
    }

    public typealias Event = RejectedSegment

    public static let name = "inerrs"
    public static var parts: [VariantGroup] { InerrsProgram.parts }

    /// How often `rescan()` should run: holders of sockets passed over a unix socket or inherited
    /// by fork() after start-up, and holders gone since, are learned by running the holders'
    /// iterator again, so a line names the new holder at most this long after the hand-over (the
    /// cost per run is in README, `netmon inerrs`).
    public static let rescanPeriod: UInt64 = 2_000_000_000

    /// The BPF object, for a run loop that waits on its ring buffer (`Runner.forEachEvent`).
    public private(set) var object: BPFObject
    private let lost: BPFMap
    private let reasons: DropReasons
    private let all: Bool

    public init(_ configuration: Configuration, chooser: VariantChooser) throws {
        let spec = try EmbeddedObject.open(Self.name)
        let reasons: DropReasons
        let storage: InerrsConfig.Storage
        do {
            let probe = try KernelProbe(objects: EmbeddedObject.open)
            let drop = try chooser.choose(InerrsProgram.drop, in: spec, probe: probe)
            if drop.isLegacy {
                reasons = .legacy
                try LegacyPrograms.prepare(spec, variant: drop, probe: probe)
            } else {
                reasons = DropReasons(enumerators: probe.btf.enumerators(of: "skb_drop_reason"))
            }
            let owners = try chooser.choose(InerrsProgram.owners, in: spec, probe: probe)
            try chooser.choose(InerrsProgram.accept, in: spec, probe: probe)
            storage = InerrsConfig.Storage(owners: owners, drop: drop)
        }
        try spec.setConstant("inerrs_config", to: InerrsConfig.make(reasons: reasons.selected(all: configuration.all),
                                                                    ownerPID: configuration.ownerPID,
                                                                    family: configuration.family, storage: storage))
        var object = try spec.load()
        try object.attachAll()
        // After the state-change and accept programs are attached, so that no socket made or
        // accepted meanwhile is missed.
        _ = try object.runIterator(InerrsProgram.holdersIterator)
        lost = try object.map(named: "lost_events")
        self.object = object
        self.reasons = reasons
        all = configuration.all
    }

    /// The reasons reported, by name: every series a scrape shows from the start.
    public var reportedReasons: [String] { reasons.selected(all: all).map { reasons.name(of: $0) } }

    public var lostEvents: UInt64 { (try? lost.sumPerCPU(UInt32(0))) ?? 0 }

    public func onEvent(_ handler: @escaping (RejectedSegment) throws -> Void) throws {
        let reasons = reasons
        try object.readRingBuffer("inerrs_events") { record in
            guard record.count >= MemoryLayout<inerrs_event>.size else { return }
            try handler(RejectedSegment(record.loadUnaligned(as: inerrs_event.self), reasons: reasons))
        }
    }

    @discardableResult
    public func consume() throws -> Int { try object.consumeRingBuffers() }

    /// Runs the holders' iterator again (every `rescanPeriod`), on the thread that reads events.
    public static func rescan(_ object: borrowing BPFObject) throws {
        _ = try object.runIterator(InerrsProgram.holdersIterator)
    }
}
