import BPFKit
import CNetmonBPF
import NetmonCLI

/// bytes for `netmon serve`: the same programs counting every process, drained on demand into
/// per-connection rows reduced to what a metric keeps of them.
public struct BytesFeed: ~Copyable {
    public struct Moved: Equatable, Sendable {
        /// 4 or 6 (IPv4-mapped connections are 4).
        public let ipVersion: Int
        public let comm: String
        public let rxBytes: UInt64
        public let txBytes: UInt64
    }

    private let object: BPFObject
    private var maps: FlowMaps

    /// Loads and attaches bytes.bpf.c for every process and both families.
    public init(_ context: RunContext) throws {
        let spec = try EmbeddedObject.open("bytes")
        do {
            let probe = try KernelProbe()
            for group in BytesProgram.groups {
                try context.choose(group, in: spec, probe: probe)
            }
        }
        try spec.setConstant("bytes_config", to: bytes_config(tgid: 0, family: 0, reserved: (0, 0, 0)))
        var object = try spec.load()
        try object.attachAll()
        maps = try FlowMaps(object)
        self.object = object
    }

    /// Everything moved since the previous drain (FlowMaps.drain's protocol: no update is lost).
    public mutating func drain() throws -> [Moved] {
        try maps.drain().map { Moved(ipVersion: $0.version, comm: $0.comm, rxBytes: $0.rxBytes, txBytes: $0.txBytes) }
    }

    /// Updates dropped since the start because a flow map was full.
    public var droppedUpdates: UInt64 { maps.droppedUpdates }
}
