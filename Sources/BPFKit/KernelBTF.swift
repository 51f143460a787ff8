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

    /// How many parameters kernel function `name` takes, or nil when the kernel has no such function.
    public func functionParameterCount(_ name: String) -> Int? {
        let count = cbpfkit_btf_function_param_count(handle, name)
        return count < 0 ? nil : Int(count)
    }

    /// Whether the kernel has a struct, union, enum or typedef of this name.
    public func hasType(_ name: String) -> Bool {
        cbpfkit_btf_has_type(handle, name)
    }

    /// Whether struct (or union) `type` has a member `member`, anonymous members' members included.
    public func hasMember(_ member: String, in type: String) -> Bool {
        cbpfkit_btf_has_member(handle, type, member)
    }

    /// The BTF id of kernel function `name` (what fentry/fexit programs attach by), or nil.
    public func functionID(_ name: String) -> Int32? {
        let id = cbpfkit_btf_function_id(handle, name)
        return id < 0 ? nil : id
    }

    /// The argument types of tracepoint `name` as C ("struct sk_buff *", "enum skb_drop_reason"),
    /// without the context pointer every tracepoint passes first; nil when the kernel has no
    /// BTF-typed tracepoint of this name. Arguments are added at the end as kernels grow (kfree_skb
    /// gained `reason` in 5.17 and `rx_sk` in 6.13), so the count tells what a kernel passes.
    public func tracepointArguments(_ name: String) -> [String]? {
        let count = cbpfkit_btf_tracepoint_param_count(handle, name)
        guard count >= 0 else { return nil }
        return (0..<UInt32(count)).map { index in
            var buffer = [CChar](repeating: 0, count: 256)
            _ = cbpfkit_btf_tracepoint_param_type(handle, name, index, &buffer, buffer.count)
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
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
