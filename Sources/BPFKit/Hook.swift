import Glibc

/// A place in the kernel a program can attach to, in the forms libbpf's section names take.
public enum Hook: Sendable, Hashable, CustomStringConvertible {
    /// `SEC("tp_btf/NAME")`: BTF-typed tracepoint, Linux 5.5+. Typed arguments, direct field access.
    case btfTracepoint(category: String, name: String)
    /// `SEC("raw_tp/NAME")`: raw tracepoint, Linux 4.17+. Arguments read with BPF_CORE_READ.
    case rawTracepoint(category: String, name: String)
    /// `SEC("tracepoint/CATEGORY/NAME")`: classic tracepoint with its format struct; needs tracefs.
    case tracepoint(category: String, name: String)
    /// `SEC("kprobe/FUNCTION")`: needs CONFIG_KPROBES and a function that was not inlined.
    case kprobe(function: String)
    /// `SEC("kretprobe/FUNCTION")`: as kprobe, at the function's return.
    case kretprobe(function: String)
    /// `SEC("fentry/FUNCTION")`: needs BPF trampolines; some kernels list the function and still refuse.
    case fentry(function: String)
    /// `SEC("fexit/FUNCTION")`: as fentry, at the function's return, with its arguments and return value.
    case fexit(function: String)
    /// `SEC("iter/TARGET")`: a BPF iterator (task_file, bpf_sk_storage_map, tcp…), Linux 5.8+; a
    /// kernel can have the target and still refuse programs on it.
    case iterator(target: String)

    public var description: String {
        switch self {
        case let .btfTracepoint(category, name), let .rawTracepoint(category, name),
             let .tracepoint(category, name):
            "tracepoint \(category):\(name)"
        case let .kprobe(function): "kprobe \(function)"
        case let .kretprobe(function): "kretprobe \(function)"
        case let .fentry(function): "fentry \(function)"
        case let .fexit(function): "fexit \(function)"
        case let .iterator(target): "iterator \(target)"
        }
    }
}

/// The tracing filesystem, where classic tracepoints publish their ids and formats.
public enum Tracefs {
    public static let mountPoints = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]

    /// The first mount point that has an `events` folder, if tracefs is mounted at all.
    public static var root: String? {
        mountPoints.first { access("\($0)/events", F_OK) == 0 }
    }

    public static func hasEvent(category: String, name: String) -> Bool {
        guard let root else { return false }
        return access("\(root)/events/\(category)/\(name)", F_OK) == 0
    }
}
