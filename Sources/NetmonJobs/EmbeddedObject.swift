import BPFKit
import CNetmonBPF

/// The BPF objects compiled into netmon (Scripts/embed-bpf).
public enum EmbeddedObject {
    /// Opens the embedded object built from BPFPrograms/NAME.bpf.c.
    public static func open(_ name: String) throws(BPFError) -> BPFObjectSpec {
        guard let object = netmon_bpf_object_named(name) else {
            throw BPFError(.notFound, "netmon was built without the BPF object '\(name)'")
        }
        return try BPFObjectSpec(name: name, elf: UnsafeRawBufferPointer(start: object.pointee.bytes,
                                                                         count: object.pointee.size))
    }

    /// The names of every embedded object.
    public static var names: [String] {
        (0..<netmon_bpf_object_total()).compactMap { index in
            netmon_bpf_object_at(index).map { String(cString: $0.pointee.name) }
        }
    }
}
