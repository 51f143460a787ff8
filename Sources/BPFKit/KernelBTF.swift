import CBPFKit
import Glibc

/// The running kernel's BTF (/sys/kernel/btf/vmlinux): its types, for probing what this kernel has
/// and for reading enums whose numbers differ between kernels.
public struct KernelBTF: ~Copyable {
    public static let path = "/sys/kernel/btf/vmlinux"

    private let handle: OpaquePointer

    public init() throws(BPFError) {
        guard access(Self.path, R_OK) == 0 else {
            throw BPFError(.kernelBTFMissing,
                           "this kernel has no BTF at \(Self.path); netmon needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (Linux 5.4 or later)")
        }
        guard let btf = btf__load_vmlinux_btf() else {
            throw BPFError.failed(.kernelBTFMissing, "cannot read the kernel's BTF at \(Self.path)")
        }
        handle = btf
    }

    deinit { btf__free(handle) }

    /// Whether the kernel has a typedef of this name (`btf_trace_<tracepoint>` for each tracepoint).
    public func hasTypedef(_ name: String) -> Bool {
        cbpfkit_btf_has_typedef(handle, name)
    }

    /// Whether the kernel has a function of this name (what fentry attaches to).
    public func hasFunction(_ name: String) -> Bool {
        cbpfkit_btf_has_function(handle, name)
    }

    /// The enumerators of `enum name`, in declaration order; empty when the kernel has no such enum.
    public func enumerators(of name: String) -> [(name: String, value: Int64)] {
        var result: [(name: String, value: Int64)] = []
        var index: UInt32 = 0
        while true {
            var member: UnsafePointer<CChar>?
            var value: Int64 = 0
            guard cbpfkit_btf_enumerator(handle, name, index, &member, &value) == 0 else { break }
            result.append((member.map { String(cString: $0) } ?? "", value))
            index += 1
        }
        return result
    }
}
