import BPFKit
import CNetmonBPF

/// conn.bpf.c: one record per TCP connection that reaches ESTABLISHED (connect) or that accept()
/// returns, filtered in the kernel; decoded into `Connection`s.
public final class ConnJob: EventJob {
    public typealias Configuration = ConnFilter
    public typealias Event = Connection

    public static let name = "conn"
    public static var parts: [VariantGroup] { ConnProgram.parts }

    /// The BPF object, for a run loop that waits on its ring buffer (`Runner.forEachEvent`).
    public private(set) var object: BPFObject
    private let lost: BPFMap

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
        var object = try spec.load()
        try object.attachAll()
        lost = try object.map(named: "lost_events")
        self.object = object
    }

    public var lostEvents: UInt64 { (try? lost.sumPerCPU(UInt32(0))) ?? 0 }

    public func onEvent(_ handler: @escaping (Connection) throws -> Void) throws {
        try object.readRingBuffer("conn_events") { record in
            guard let connection = Connection(record: record) else { return }
            try handler(connection)
        }
    }

    @discardableResult
    public func consume() throws -> Int { try object.consumeRingBuffers() }
}
