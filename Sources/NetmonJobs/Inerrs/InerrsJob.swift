import BPFKit
import CNetmonBPF
import Glibc

/// inerrs.bpf.c: one record per incoming TCP segment the kernel rejects for one of the selected
/// reasons, with the running kernel's reason names and the socket's holder; decoded into
/// `RejectedSegment`s. What `netmon inerrs` prints, and what `netmon serve` counts (the default
/// reasons, every process, both families): with `countOnly` the drop programs count every
/// segment in the kernel (`inerrs_counts`, netmon/inerrs.h), read by `counts()`, and send no
/// event, so the counts are exact whatever the rate.
public final class InerrsJob: EventJob {
    public struct Configuration: Sendable {
        /// Also the resource and socket-lifecycle reasons (--all).
        public var all: Bool
        /// Only segments for sockets this process holds.
        public var ownerPID: UInt32?
        public var family: AddressFamilyFilter
        /// Count in the kernel and send no event (serve); no holder is learned, so neither the
        /// owners nor the accept programs are loaded and `ownerPID` must be nil.
        public var countOnly: Bool

        public init(all: Bool = false, ownerPID: UInt32? = nil, family: AddressFamilyFilter = .both,
                    countOnly: Bool = false) {
            self.all = all
            self.ownerPID = ownerPID
            self.family = family
            self.countOnly = countOnly
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
    /// The programs of the chosen drop variant.
    private let dropPrograms: [String]

    public init(_ configuration: Configuration, chooser: VariantChooser) throws {
        let spec = try EmbeddedObject.open(Self.name)
        let reasons: DropReasons
        let storage: InerrsConfig.Storage
        let dropPrograms: [String]
        do {
            let probe = try KernelProbe(objects: EmbeddedObject.open)
            let drop = try chooser.choose(InerrsProgram.drop, in: spec, probe: probe)
            dropPrograms = InerrsProgram.drop.programs(of: drop)
            if drop.isLegacy {
                reasons = .legacy
                try LegacyPrograms.prepare(spec, variant: drop, probe: probe)
            } else {
                reasons = DropReasons(enumerators: probe.btf.enumerators(of: "skb_drop_reason"))
            }
            if configuration.countOnly {
                // Counting needs no holder: no state-change, accept or scan program.
                try chooser.skip(InerrsProgram.owners, in: spec)
                try chooser.skip(InerrsProgram.accept, in: spec)
                storage = .withoutOwners
            } else {
                let owners = try chooser.choose(InerrsProgram.owners, in: spec, probe: probe)
                try chooser.choose(InerrsProgram.accept, in: spec, probe: probe)
                storage = InerrsConfig.Storage(owners: owners, drop: drop)
            }
        }
        var config = InerrsConfig.make(reasons: reasons.selected(all: configuration.all), ownerPID: configuration.ownerPID,
                                       family: configuration.family, storage: storage)
        config.count_only = configuration.countOnly ? 1 : 0
        try spec.setConstant("inerrs_config", to: config)
        // Counting sends no event: the ring buffer shrinks to its smallest size (one page).
        if configuration.countOnly {
            try spec.setMaxEntries(UInt32(sysconf(Int32(_SC_PAGESIZE))), map: Self.events)
        }
        var object = try spec.load()
        try object.attachAll()
        // After the state-change and accept programs are attached, so that no socket made or
        // accepted meanwhile is missed.
        if !configuration.countOnly { _ = try object.runIterator(InerrsProgram.holdersIterator) }
        lost = try object.map(named: "lost_events")
        self.object = object
        self.reasons = reasons
        all = configuration.all
        self.dropPrograms = dropPrograms
    }

    private static let events = "inerrs_events"

    /// The reasons reported, by name: every series a scrape shows from the start.
    public var reportedReasons: [String] { reasons.selected(all: all).map { reasons.name(of: $0) } }

    /// Events the ring buffer had no room for; 0 when counting (see `missedDrops()`).
    public var lostEvents: UInt64 { (try? lost.sumPerCPU(UInt32(0))) ?? 0 }

    /// The kernel's running totals since the job was made (countOnly), by reason and family:
    /// every reported reason in both families, 0 included. They only grow.
    public func counts() throws -> [RejectedCount] {
        let map = try object.map(named: "inerrs_counts")
        var totals: [RejectedCount] = []
        for reason in reasons.selected(all: all) {
            for version in [4, 6] {
                let total = try map.sumPerCPU(inerrs_count_slot(reason, UInt8(version)))
                totals.append(RejectedCount(reason: reasons.name(of: reason), ipVersion: version, segments: total))
            }
        }
        return totals
    }

    /// Runs of the drop programs the kernel skipped since load because one was already running on
    /// that CPU (an interrupt dropped a segment while a drop program ran in process context): each
    /// may be a rejected segment not counted. Linux 5.12+ counts them; 0 before.
    public func missedDrops() throws -> UInt64 {
        try dropPrograms.reduce(0) { sum, program in sum &+ (try object.recursionMisses(program: program)) }
    }

    public func onEvent(_ handler: @escaping (RejectedSegment) throws -> Void) throws {
        let reasons = reasons
        try object.readRingBuffer(Self.events) { record in
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
