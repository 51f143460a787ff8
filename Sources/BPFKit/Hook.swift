import Glibc

/// A place in the kernel a program can attach to, in the forms libbpf's section names take.
public enum Hook: Sendable, Equatable, CustomStringConvertible {
    /// `SEC("tp_btf/NAME")`: BTF-typed tracepoint, Linux 5.5+. Typed arguments, direct field access.
    case btfTracepoint(category: String, name: String)
    /// `SEC("raw_tp/NAME")`: raw tracepoint, Linux 4.17+. Arguments read with BPF_CORE_READ.
    case rawTracepoint(category: String, name: String)
    /// `SEC("tracepoint/CATEGORY/NAME")`: classic tracepoint with its format struct; needs tracefs.
    case tracepoint(category: String, name: String)
    /// `SEC("kprobe/FUNCTION")`: needs CONFIG_KPROBES.
    case kprobe(function: String)
    /// `SEC("fentry/FUNCTION")`: needs BPF trampolines (and may still be refused at load).
    case fentry(function: String)

    public var description: String {
        switch self {
        case let .btfTracepoint(category, name), let .rawTracepoint(category, name),
             let .tracepoint(category, name):
            "tracepoint \(category):\(name)"
        case let .kprobe(function): "kprobe \(function)"
        case let .fentry(function): "fentry \(function)"
        }
    }

    /// Whether this kernel has the attach point. For fentry this is a necessary condition only:
    /// a kernel may list the function and still refuse the program at load.
    public func exists(in btf: borrowing KernelBTF) -> Bool {
        switch self {
        case let .btfTracepoint(_, name):
            btf.hasTypedef("btf_trace_\(name)")
        case let .rawTracepoint(category, name):
            btf.hasTypedef("btf_trace_\(name)") || Tracefs.hasEvent(category: category, name: name)
        case let .tracepoint(category, name):
            Tracefs.hasEvent(category: category, name: name)
        case .kprobe:
            access("/sys/bus/event_source/devices/kprobe", F_OK) == 0
        case let .fentry(function):
            btf.hasFunction(function)
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
