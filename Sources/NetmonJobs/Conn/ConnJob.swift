import BPFKit
import CNetmonBPF
import Glibc

/// conn.bpf.c: one record per TCP connection that reaches ESTABLISHED (connect) or that accept()
/// returns, filtered in the kernel; decoded into `Connection`s. With `ConnFilter.countOnly`
/// (serve) the kernel counts the connections instead, by direction, family and process name, and
/// `drainCounts()` hands the counts over: exact whatever the rate, no event to lose.
public final class ConnJob: EventJob {
    public typealias Configuration = ConnFilter
    public typealias Event = Connection

    public static let name = "conn"
    public static var parts: [VariantGroup] { ConnProgram.parts }

    /// The BPF object, for a run loop that waits on its ring buffer (`Runner.forEachEvent`).
    public private(set) var object: BPFObject
    private let lost: BPFMap
    private var counts: ConnCountMaps

    public init(_ filter: ConnFilter, chooser: VariantChooser) throws {
        let spec = try EmbeddedObject.open(Self.name)
        do {
            let probe = try KernelProbe()
            if filter.tracesConnects {
                try chooser.choose(ConnProgram.connect, in: spec, probe: probe)
            } else {
                try chooser.skip(ConnProgram.connect, in: spec)
            }
            if filter.tracesAccepts {
                try chooser.choose(ConnProgram.accept, in: spec, probe: probe)
            } else {
                try chooser.skip(ConnProgram.accept, in: spec)
            }
        }
        try spec.setConstant("conn_config", to: filter.config)
        // Counting sends no event: the ring buffer shrinks to its smallest size (one page).
        if filter.countOnly { try spec.setMaxEntries(UInt32(sysconf(Int32(_SC_PAGESIZE))), map: Self.events) }
        var object = try spec.load()
        try object.attachAll()
        lost = try object.map(named: "lost_events")
        counts = try ConnCountMaps(object)
        self.object = object
    }

    private static let events = "conn_events"

    /// Events the ring buffer had no room for; 0 when counting (nothing is sent, nothing lost).
    public var lostEvents: UInt64 { (try? lost.sumPerCPU(UInt32(0))) ?? 0 }

    /// The connections counted since the previous drain (countOnly), one entry per (direction,
    /// family, name) that moved, and those that found the name map full under no name. Emptying
    /// the kernel's name map at each drain keeps it from filling for good with names that never
    /// come back (ConnCountMaps). Not for two threads at once.
    public func drainCounts() throws -> [ConnectionCount] {
        try counts.drain()
    }

    public func onEvent(_ handler: @escaping (Connection) throws -> Void) throws {
        try object.readRingBuffer(Self.events) { record in
            guard let connection = Connection(record: record) else { return }
            try handler(connection)
        }
    }

    @discardableResult
    public func consume() throws -> Int { try object.consumeRingBuffers() }
}
