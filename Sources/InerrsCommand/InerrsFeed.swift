import BPFKit
import CNetmonBPF
import NetmonCLI

/// inerrs.bpf.c loaded and attached, with the running kernel's drop reasons: what `netmon inerrs`
/// prints from, and what `netmon serve` counts (its default reasons, every process, both families).
public struct InerrsFeed: ~Copyable {
    public struct Rejected: Equatable, Sendable {
        /// The kernel's name for the reason (SKB_DROP_REASON_ stripped), as `netmon inerrs` prints it.
        public let reason: String
        public let ipVersion: Int
    }

    /// The ring buffer the object sends events on.
    public static let events = "inerrs_events"

    public var object: BPFObject
    let reasons: DropReasons
    let all: Bool

    /// For `netmon serve`: the default reasons of every process, both families.
    public init(_ context: RunContext) throws {
        try self.init(context, all: false, ownerPID: nil, family: .both)
    }

    init(_ context: RunContext, all: Bool, ownerPID: UInt32?, family: AddressFamilyFilter) throws {
        let spec = try EmbeddedObject.open("inerrs")
        PrivateTracefs.mountIfNeeded(context)
        let reasons: DropReasons
        let storage: InerrsConfig.Storage
        do {
            let probe = try KernelProbe(objects: EmbeddedObject.open)
            let variant = try context.choose(InerrsProgram.drop, in: spec, probe: probe)
            if InerrsProgram.legacyVariants.contains(variant.name) {
                reasons = .legacy
                try LegacyPrograms.prepare(spec, variant: variant, probe: probe)
            } else {
                reasons = DropReasons(enumerators: probe.btf.enumerators(of: "skb_drop_reason"))
            }
            let owners = try context.choose(InerrsProgram.owners, in: spec, probe: probe)
            try context.choose(InerrsProgram.accept, in: spec, probe: probe)
            storage = InerrsConfig.Storage(owners: owners.name, drop: variant.name)
        }
        try spec.setConstant("inerrs_config", to: InerrsConfig.make(reasons: reasons.selected(all: all),
                                                                    ownerPID: ownerPID, family: family,
                                                                    storage: storage))
        var object = try spec.load()
        try object.attachAll()
        // After the state-change and accept programs are attached, so that no socket made or
        // accepted meanwhile is missed.
        _ = try object.runIterator(InerrsProgram.holdersIterator)
        self.object = object
        self.reasons = reasons
        self.all = all
    }

    /// The reasons reported, by name: every series a scrape shows from the start.
    public var reportedReasons: [String] { reasons.selected(all: all).map { reasons.name(of: $0) } }

    public func decoder() -> @Sendable (UnsafeRawBufferPointer) -> Rejected? {
        let reasons = reasons
        return { record in
            guard record.count >= MemoryLayout<inerrs_event>.size else { return nil }
            let event = record.loadUnaligned(as: inerrs_event.self)
            return Rejected(reason: reasons.name(of: event.reason), ipVersion: event.ip_version == 4 ? 4 : 6)
        }
    }
}
