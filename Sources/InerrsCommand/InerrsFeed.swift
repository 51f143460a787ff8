import BPFKit
import Glibc
import CNetmonBPF
import NetmonCLI

/// inerrs.bpf.c loaded and attached, with the running kernel's drop reasons: what `netmon inerrs`
/// prints from, and what `netmon serve` counts (its default reasons, every process, both families).
/// For serve the drop programs count every segment in the kernel (`inerrs_counts`, netmon/inerrs.h)
/// and send no event: the counts are exact whatever the rate, and the programs that learn each
/// socket's holder are not loaded at all.
public struct InerrsFeed: ~Copyable {
    public struct Rejected: Hashable, Sendable {
        /// The kernel's name for the reason (SKB_DROP_REASON_ stripped), as `netmon inerrs` prints it.
        public let reason: String
        public let ipVersion: Int
    }

    /// The ring buffer the object sends events on.
    public static let events = "inerrs_events"

    public var object: BPFObject
    let reasons: DropReasons
    let all: Bool
    /// The programs of the chosen drop variant.
    let dropPrograms: [String]

    /// For `netmon serve`: the default reasons of every process, both families, counted in the kernel.
    public init(_ context: RunContext) throws {
        try self.init(context, all: false, ownerPID: nil, family: .both, countOnly: true)
    }

    init(_ context: RunContext, all: Bool, ownerPID: UInt32?, family: AddressFamilyFilter, countOnly: Bool = false) throws {
        let spec = try EmbeddedObject.open("inerrs")
        PrivateTracefs.mountIfNeeded(context)
        let reasons: DropReasons
        let storage: InerrsConfig.Storage
        let dropPrograms: [String]
        do {
            let probe = try KernelProbe(objects: EmbeddedObject.open)
            let variant = try context.choose(InerrsProgram.drop, in: spec, probe: probe)
            dropPrograms = variant.programs
            if InerrsProgram.legacyVariants.contains(variant.name) {
                reasons = .legacy
                try LegacyPrograms.prepare(spec, variant: variant, probe: probe)
            } else {
                reasons = DropReasons(enumerators: probe.btf.enumerators(of: "skb_drop_reason"))
            }
            if countOnly {
                // Counting needs no holder: no state-change, accept or scan program.
                for program in InerrsProgram.owners.programs + InerrsProgram.accept.programs {
                    try spec.setAutoload(false, program: program)
                }
                storage = InerrsConfig.Storage(owners: "", drop: variant.name)
            } else {
                let owners = try context.choose(InerrsProgram.owners, in: spec, probe: probe)
                try context.choose(InerrsProgram.accept, in: spec, probe: probe)
                storage = InerrsConfig.Storage(owners: owners.name, drop: variant.name)
            }
        }
        var config = InerrsConfig.make(reasons: reasons.selected(all: all), ownerPID: ownerPID, family: family,
                                       storage: storage)
        config.count_only = countOnly ? 1 : 0
        try spec.setConstant("inerrs_config", to: config)
        // Counting sends no event: the ring buffer shrinks to its smallest size (one page).
        if countOnly { try spec.setMaxEntries(UInt32(sysconf(Int32(_SC_PAGESIZE))), map: Self.events) }
        var object = try spec.load()
        try object.attachAll()
        // After the state-change and accept programs are attached, so that no socket made or
        // accepted meanwhile is missed.
        if !countOnly { _ = try object.runIterator(InerrsProgram.holdersIterator) }
        self.object = object
        self.reasons = reasons
        self.all = all
        self.dropPrograms = dropPrograms
    }

    /// The reasons reported, by name: every series a scrape shows from the start.
    public var reportedReasons: [String] { reasons.selected(all: all).map { reasons.name(of: $0) } }

    /// The kernel's running totals since the feed was made (serve's count-only feed), by reason
    /// and family: every reported reason in both families, 0 included. They only grow.
    public func counts() throws -> [Rejected: UInt64] {
        let map = try object.map(named: "inerrs_counts")
        var totals: [Rejected: UInt64] = [:]
        for reason in reasons.selected(all: all) {
            for version in [4, 6] {
                let total = try map.sumPerCPU(inerrs_count_slot(reason, UInt8(version)))
                totals[Rejected(reason: reasons.name(of: reason), ipVersion: version), default: 0] &+= total
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

    public func decoder() -> @Sendable (UnsafeRawBufferPointer) -> Rejected? {
        let reasons = reasons
        return { record in
            guard record.count >= MemoryLayout<inerrs_event>.size else { return nil }
            let event = record.loadUnaligned(as: inerrs_event.self)
            return Rejected(reason: reasons.name(of: event.reason), ipVersion: event.ip_version == 4 ? 4 : 6)
        }
    }
}
