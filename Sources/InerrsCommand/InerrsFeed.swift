import BPFKit
import CNetmonBPF
import NetmonCLI

/// inerrs for `netmon serve`: the default reason set for every process and both families, and
/// each event reduced to what a metric keeps of it.
public struct InerrsFeed: ~Copyable {
    public struct Rejected: Equatable, Sendable {
        /// The running kernel's name for the reason (SKB_DROP_REASON_ stripped).
        public let reason: String
        public let ipVersion: Int
    }

    /// The ring buffer the object sends events on.
    public static let events = "inerrs_events"

    public var object: BPFObject
    private let reasons: DropReasons

    /// Loads and attaches inerrs.bpf.c (reads the reason names from the kernel's BTF).
    public init(_ context: RunContext) throws {
        let spec = try EmbeddedObject.open("inerrs")
        let reasons: DropReasons
        do {
            let probe = try KernelProbe()
            reasons = DropReasons(enumerators: probe.btf.enumerators(of: "skb_drop_reason"))
            guard !reasons.names.isEmpty else {
                throw RuntimeFailure("inerrs needs the kernel's packet drop reasons (enum skb_drop_reason, Linux 5.17 or later), and this kernel has none")
            }
            try context.choose(InerrsProgram.drop, in: spec, probe: probe)
        }
        try spec.setConstant("inerrs_config", to: InerrsConfig.make(reasons: reasons.selected(all: false),
                                                                    ownerPID: nil, family: .both))
        var object = try spec.load()
        try object.attachAll()
        self.object = object
        self.reasons = reasons
    }

    /// The reasons reported, by name: every series a scrape shows from the start.
    public var reportedReasons: [String] { reasons.selected(all: false).map { reasons.name(of: $0) } }

    public func decoder() -> @Sendable (UnsafeRawBufferPointer) -> Rejected? {
        let reasons = reasons
        return { record in
            guard record.count >= MemoryLayout<inerrs_event>.size else { return nil }
            let event = record.loadUnaligned(as: inerrs_event.self)
            return Rejected(reason: reasons.name(of: event.reason), ipVersion: event.ip_version == 4 ? 4 : 6)
        }
    }
}
