/// One way of doing a job on some kernels: the programs it loads and what the kernel must have.
/// An object carries every variant of a job; the loader enables one and disables the rest.
public struct ProgramVariant: Sendable, Equatable {
    /// Short and stable: shown by --verbose and used to force it ("tracepoint", "fexit", "kprobe").
    public let name: String
    /// The programs it enables (a program may belong to several variants).
    public let programs: [String]
    public let requirements: [KernelRequirement]

    public init(_ name: String, programs: [String], requires requirements: [KernelRequirement]) {
        self.name = name
        self.programs = programs
        self.requirements = requirements
    }
}

/// A job with its variants, best first ("bytes.send": tracepoint, then fexit, then kprobe).
public struct VariantGroup: Sendable {
    /// "command.part": what forcing (`bytes=kprobe`, `bytes.send=kprobe`) and --verbose call it.
    public let name: String
    /// What the job is, for messages: "count the bytes each send call moved".
    public let job: String
    public let variants: [ProgramVariant]

    public init(_ name: String, job: String, variants: [ProgramVariant]) {
        self.name = name
        self.job = job
        self.variants = variants
    }

    /// Every program of every variant.
    public var programs: [String] {
        var seen: [String] = []
        for program in variants.flatMap(\.programs) where !seen.contains(program) { seen.append(program) }
        return seen
    }
}

/// Variants the user forced, for tests of older kernels' paths on newer kernels: "bytes=kprobe" forces
/// the variant called kprobe in group "bytes" and in every group below it ("bytes.send", …);
/// "bytes.send=kprobe" only there. Several are separated by commas.
public struct VariantOverrides: Sendable, Equatable {
    public let choices: [(group: String, variant: String)]

    public static func == (lhs: VariantOverrides, rhs: VariantOverrides) -> Bool {
        lhs.choices.elementsEqual(rhs.choices) { $0.group == $1.group && $0.variant == $1.variant }
    }

    public init() { choices = [] }

    /// Parses "group=variant[,group=variant…]"; `source` names where the text came from, for errors.
    public init(parsing text: String, source: String) throws(BPFError) {
        var choices: [(group: String, variant: String)] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw BPFError(.notFound, "\(source): '\(item)' is not GROUP=VARIANT (e.g. bytes=kprobe)")
            }
            choices.append((String(parts[0]).trimmed, String(parts[1]).trimmed))
        }
        self.choices = choices
    }

    public var isEmpty: Bool { choices.isEmpty }

    /// The forced groups that match none of `groups` (neither a group nor a prefix of one): a
    /// misspelt group would otherwise be ignored silently, and a test would believe it ran a fallback.
    public func unknownGroups(among groups: [String]) -> [String] {
        choices.map(\.group).filter { forcedGroup in
            !groups.contains { $0 == forcedGroup || $0.hasPrefix(forcedGroup + ".") }
        }
    }

    /// The forced variant for `group`: the most specific matching choice, if any.
    public func forced(for group: String) -> String? {
        choices.filter { group == $0.group || group.hasPrefix($0.group + ".") }
            .max { $0.group.count < $1.group.count }?.variant
    }
}

extension String {
    fileprivate var trimmed: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

extension BPFObjectSpec {
    /// Enables the first variant of `group` whose requirements this kernel meets (or the forced
    /// one) and disables every other program of the group. Throws `unsupportedKernel` naming what
    /// is missing for each variant tried: "bytes.send: this kernel lacks tracepoint
    /// sock:sock_send_length (Linux 6.3+) for 'tracepoint', kprobes for 'kprobe'".
    @discardableResult
    public func choose(_ group: VariantGroup, probe: KernelProbe,
                       overrides: VariantOverrides = VariantOverrides()) throws(BPFError) -> ProgramVariant {
        var candidates = group.variants
        if let forced = overrides.forced(for: group.name) {
            guard let variant = group.variants.first(where: { $0.name == forced }) else {
                throw BPFError(.notFound,
                               "\(group.name) has no variant '\(forced)' (it has: \(group.variants.map(\.name).joined(separator: ", ")))")
            }
            candidates = [variant]
        }
        var missing: [(variant: String, lacks: [KernelRequirement])] = []
        for variant in candidates {
            let lacks = variant.requirements.filter { !probe.has($0) }
            if lacks.isEmpty {
                for program in group.programs {
                    try setAutoload(variant.programs.contains(program), program: program)
                }
                return variant
            }
            missing.append((variant.name, lacks))
        }
        let reasons = missing.map { entry in
            "\(entry.lacks.map(\.description).joined(separator: " and ")) for '\(entry.variant)'"
        }
        let needsTracefs = missing.contains { entry in
            entry.lacks.contains { if case .hook(.tracepoint) = $0.feature { true } else { false } }
        }
        let tracefsHint = needsTracefs && Tracefs.root == nil
            ? " (tracefs is not mounted: mount -t tracefs tracefs /sys/kernel/tracing)" : ""
        let forced = candidates.count == 1 && overrides.forced(for: group.name) != nil ? " (forced)" : ""
        throw BPFError(.unsupportedKernel,
                       "\(group.name): cannot \(group.job) on this kernel\(forced): it lacks \(reasons.joined(separator: "; "))\(tracefsHint)")
    }
}
