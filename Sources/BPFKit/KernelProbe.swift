import CBPFKit
import Glibc

/// What the running kernel can do, found by probing and remembered for the run: BTF types and
/// tracepoint arguments, tracepoint existence, kprobe targets, whether fentry/fexit and iterator
/// programs load at all (some kernels list the functions and refuse trampolines or iterator
/// targets with EPERM), and whether a probe program passes the verifier.
public final class KernelProbe {
    /// Opens a probe object by name, for `.programLoads`.
    public typealias ObjectSource = (String) throws(BPFError) -> BPFObjectSpec

    /// The kernel's BTF. Free the probe before loading objects if memory matters: libbpf loads its own copy.
    public let btf: KernelBTF
    private let objects: ObjectSource?
    private var known: [KernelFeature: Bool] = [:]

    /// Without `objects`, every `.programLoads` feature counts as missing.
    public init(objects: ObjectSource? = nil) throws(BPFError) {
        btf = try KernelBTF()
        self.objects = objects
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
        case let .programLoads(object, program): return loads(program, of: object)
        }
    }

    /// Loads `program` alone (the object's maps are created, its other programs are not loaded)
    /// and closes it again. What the verifier said stays out of later errors' messages.
    private func loads(_ program: String, of object: String) -> Bool {
        guard let objects else { return false }
        defer { _ = LibbpfMessages.take() }
        do {
            let spec = try objects(object)
            guard spec.programNames.contains(program) else { return false }
            for name in spec.programNames {
                try spec.setAutoload(name == program, program: name)
            }
            _ = try spec.load()
            return true
        } catch {
            return false
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
            // libbpf finds an iterator target by the kernel's bpf_iter_<target> function; a kernel
            // can have it and still refuse programs on it (Linux 6.18 here: bpf_sk_storage_map, EPERM).
            return tracingProgramLoads("bpf_iter_\(target)", attachType: BPF_TRACE_ITER)
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
