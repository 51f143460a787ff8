import BPFKit
import CNetmonBPF
import NetmonCLI

/// bytes.bpf.c loaded and attached with the variants this kernel supports, and its flow maps:
/// what `netmon bytes` reports from every interval, and what `netmon serve` drains into its
/// per-process counters (every process, both families).
public struct BytesFeed: ~Copyable {
    public struct Moved: Equatable, Sendable {
        /// 4 or 6 (IPv4-mapped connections are 4).
        public let ipVersion: Int
        public let comm: String
        public let rxBytes: UInt64
        public let txBytes: UInt64
    }

    private var object: BPFObject
    private var maps: FlowMaps

    /// For `netmon serve`: every process, both families.
    public init(_ context: RunContext) throws {
        try self.init(context, config: bytes_config(tgid: 0, family: 0, reserved: (0, 0, 0)))
    }

    init(_ context: RunContext, config: bytes_config) throws {
        let spec = try EmbeddedObject.open("bytes")
        var socketStorage = false
        var kprobes = false
        do {
            let probe = try KernelProbe(objects: EmbeddedObject.open)
            for group in BytesProgram.groups {
                let variant = try context.choose(group, in: spec, probe: probe)
                if variant.name == "tp_btf" { socketStorage = true }
                if variant.name.hasPrefix("kprobe") { kprobes = true }
            }
        }
        for program in BytesProgram.socketStoragePrograms {
            try spec.setAutoload(socketStorage, program: program)
        }
        if !kprobes {
            // Only the kprobe variants remember calls between entry and return; a hash map's
            // buckets cost memory even when empty.
            for map in ["bytes_sending", "bytes_receiving"] { try spec.setMaxEntries(1, map: map) }
        }
        try spec.setConstant("bytes_config", to: config)
        var object = try spec.load()
        try object.attachAll()
        maps = try FlowMaps(object, socketStorage: socketStorage)
        self.object = object
    }

    /// Every process/connection pair's bytes since the previous drain (FlowMaps.drain: no update
    /// is lost to the read).
    mutating func drainRows() throws -> [FlowRow] {
        try maps.drain(&object)
    }

    /// The same, reduced to what a metric keeps.
    public mutating func drain() throws -> [Moved] {
        try drainRows().map { Moved(ipVersion: $0.version, comm: $0.comm, rxBytes: $0.rxBytes, txBytes: $0.txBytes) }
    }

    /// Updates dropped since the start because a flow map was full.
    public var droppedUpdates: UInt64 { maps.droppedUpdates }
}
