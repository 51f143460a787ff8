/// Something a program needs from the running kernel, checked by probing it (its BTF, its
/// tracepoints, a test load), never by its version number: distributions backport features.
public enum KernelFeature: Sendable, Hashable, CustomStringConvertible {
    /// The attach point exists (and, for fentry/fexit and iterators, the kernel accepts a program there).
    case hook(Hook)
    /// A function of the kernel's BTF: a kfunc (bpf_rdonly_cast), or a function whose presence marks
    /// a capability (bpf_sk_storage_tracing_allowed: socket storage from tracing programs).
    case function(String)
    /// A struct, union, enum or typedef of this name.
    case type(String)
    /// A member of a struct or union.
    case member(String, of: String)
    /// The BTF-typed tracepoint passes at least this many arguments (new ones are appended).
    case tracepointArguments(String, atLeast: Int)
    /// The kernel function takes exactly this many arguments: which of its signatures this kernel
    /// has, for a program that reads its arguments (tcp_recvmsg: 6 before Linux 5.19, then 5).
    case functionArguments(String, count: Int)
    /// The kernel loads `program` of the probe object `object` (found through KernelProbe's
    /// `objects`): for what only the verifier can tell, such as a pointer it no longer trusts.
    case programLoads(object: String, program: String)

    public var description: String {
        switch self {
        case let .hook(hook): "\(hook)"
        case let .function(name): "kernel function \(name)"
        case let .type(name): "kernel type \(name)"
        case let .member(member, type): "\(type).\(member)"
        case let .tracepointArguments(name, count): "tracepoint \(name) with \(count) arguments"
        case let .functionArguments(name, count): "kernel function \(name) with \(count) arguments"
        case let .programLoads(object, program): "program \(program) of \(object) loading"
        }
    }
}

/// A feature and the words a user needs when it is missing: "sock:sock_send_length (Linux 6.3+)".
public struct KernelRequirement: Sendable, Hashable, CustomStringConvertible {
    public let feature: KernelFeature
    /// What it is and since when mainline has it, for messages ("bpf_rdonly_cast (Linux 6.2+)");
    /// only ever shown, never compared with the running kernel's version.
    public let description: String

    public init(_ feature: KernelFeature, _ description: String? = nil) {
        self.feature = feature
        self.description = description ?? feature.description
    }
}
