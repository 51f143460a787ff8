import CBPFKit
import Glibc

/// What the running kernel can do, found by probing and remembered for the run: BTF types and
/// tracepoint arguments, tracepoint existence, kprobe targets, and whether fentry/fexit programs
/// load at all (some kernels list the functions and refuse trampolines with EPERM).
public final class KernelProbe {
    /// The kernel's BTF. Free the probe before loading objects if memory matters: libbpf loads its own copy.
    public let btf: KernelBTF
    private var known: [KernelFeature: Bool] = [:]

    public init() throws(BPFError) {
        btf = try KernelBTF()
    }

    /// Whether the kernel has `feature`; each feature is probed once per run.
    public func has(_ feature: KernelFeature) -> Bool {
        if let answer = known[feature] { return answer }
        let answer = probe(feature)
        known[feature] = answer
        return answer
    }

    public func has(_ requirement: KernelRequirement) -> Bool { has(requirement.feature) }

    private func probe(_ feature: KernelFeature) -> Bool {
        switch feature {
        case let .hook(hook): return exists(hook)
        case let .function(name): return btf.hasFunction(name)
        case let .type(name): return btf.hasType(name)
        case let .member(member, type): return btf.hasMember(member, in: type)
        case let .tracepointArguments(name, count): return (btf.tracepointArguments(name)?.count ?? -1) >= count
        case let .functionArguments(name, count): return btf.functionParameterCount(name) == count
        }
    }

    private func exists(_ hook: Hook) -> Bool {
        switch hook {
        case let .btfTracepoint(_, name):
            return btf.hasTypedef("btf_trace_\(name)")
        case let .rawTracepoint(category, name):
            return btf.hasTypedef("btf_trace_\(name)") || Tracefs.hasEvent(category: category, name: name)
        case let .tracepoint(category, name):
            return Tracefs.hasEvent(category: category, name: name)
        case let .kprobe(function), let .kretprobe(function):
            return KernelSymbols.kprobesAvailable && KernelSymbols.isTraceable(function)
        case let .fentry(function):
            return tracingProgramLoads(function, attachType: BPF_TRACE_FENTRY)
        case let .fexit(function):
            return tracingProgramLoads(function, attachType: BPF_TRACE_FEXIT)
        case let .iterator(target):
            // libbpf finds an iterator target by the kernel's bpf_iter_<target> function.
            return btf.hasFunction("bpf_iter_\(target)")
        }
    }

    /// The test libbpf-tools makes (fentry_can_attach): load an empty program on the function.
    private func tracingProgramLoads(_ function: String, attachType: bpf_attach_type) -> Bool {
        guard let id = btf.functionID(function) else { return false }
        return cbpfkit_probe_tracing_program(Int32(attachType.rawValue), id) == 0
    }
}

/// The kernel's symbols, for what kprobes can attach to.
public enum KernelSymbols {
    /// Whether the kernel was built with kprobes (CONFIG_KPROBES): the kprobe event source exists.
    public static var kprobesAvailable: Bool {
        access("/sys/bus/event_source/devices/kprobe", F_OK) == 0
    }

    /// Whether `function` can be probed: listed in tracefs' available_filter_functions when tracefs
    /// is mounted (an inlined or notrace function is not), else a text symbol of /proc/kallsyms.
    public static func isTraceable(_ function: String) -> Bool {
        if let root = Tracefs.root, let list = KernelFile.read("\(root)/available_filter_functions") {
            return list.split(separator: "\n").contains { line in
                line.split(separator: " ", maxSplits: 1).first.map { $0 == function } ?? false
            }
        }
        guard let symbols = KernelFile.read("/proc/kallsyms") else { return false }
        return symbols.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count >= 3 && fields[2] == function && (fields[1] == "t" || fields[1] == "T")
        }
    }
}
