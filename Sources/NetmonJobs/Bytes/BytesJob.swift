import BPFKit
import CNetmonBPF

/// bytes.bpf.c: the TCP bytes each process moved on each connection, counted in the kernel and
/// handed over by `drain()` (everything since the previous drain, no update lost to the read):
/// what `netmon bytes` reports every interval, and what `netmon serve` sums per process name.
public final class BytesJob: Job {
    /// Which process (tgid, 0 for every one) and family (0, 4 or 6) are counted.
    public typealias Configuration = bytes_config

    public static let name = "bytes"
    public static var parts: [VariantGroup] { BytesProgram.parts.map(\.group) }

    private var object: BPFObject
    private var maps: FlowMaps

    /// Every process, both families (serve).
    public static let everything = bytes_config(tgid: 0, family: 0, reserved: (0, 0, 0))

    public init(_ config: bytes_config, chooser: VariantChooser) throws {
        let spec = try EmbeddedObject.open(Self.name)
        let chosen: [BytesProgram.Variant]
        do {
            let probe = try KernelProbe(objects: EmbeddedObject.open)
            chosen = try BytesProgram.parts.map { part throws(BPFError) in try chooser.choose(part, in: spec, probe: probe) }
        }
        let socketStorage = chosen.contains { $0.keepsCountsWithSocket }
        for program in BytesProgram.socketStoragePrograms {
            try spec.setAutoload(socketStorage, program: program)
        }
        if !chosen.contains(where: \.usesKprobes) {
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
    /// is lost to the read). Not for two threads at once.
    public func drain() throws -> [FlowRow] {
        try maps.drain(&object)
    }

    /// Updates dropped since the start because a flow map was full.
    public var lostEvents: UInt64 { maps.droppedUpdates }
}
