import BPFKit

/// How a job picks the variant of each of its parts: the first one the kernel supports, or the one
/// forced for tests (NETMON_FORCE_VARIANT, settled before any command runs), saying which through
/// `announce` when the user asked (--verbose). The only thing a job needs from the command that
/// runs it to choose.
public struct VariantChooser {
    public let overrides: VariantOverrides
    /// Hears "bytes.send: tp_btf (tracepoint sock:sock_send_length (Linux 6.3+))"; nil: silent.
    private let announce: ((String) -> Void)?

    public init(overrides: VariantOverrides = VariantOverrides(), announce: ((String) -> Void)? = nil) {
        self.overrides = overrides
        self.announce = announce
    }

    /// Enables the chosen variant of `part` in `spec` (and disables the others' programs) and
    /// returns it as the part's case.
    @discardableResult
    public func choose<Variant>(_ part: JobPart<Variant>, in spec: borrowing BPFObjectSpec,
                                probe: KernelProbe) throws(BPFError) -> Variant {
        let variant = try spec.choose(part.group, probe: probe, overrides: overrides)
        if let announce {
            let needs = variant.requirements.map(\.description).joined(separator: ", ")
            announce("netmon: \(part.group.name): \(variant.name)\(needs.isEmpty ? "" : " (\(needs))")")
        }
        return part.variant(named: variant.name)
    }

    /// Disables every program of `part` (a part the configuration does not need).
    public func skip<Variant>(_ part: JobPart<Variant>, in spec: borrowing BPFObjectSpec) throws(BPFError) {
        for program in part.group.programs { try spec.setAutoload(false, program: program) }
    }
}

/// One part of a job with its variants, best first, each an enum case: what a chosen variant means
/// is asked of the case (`.usesKprobes`), never read from its name. The names, the cases' raw
/// values, are what --verbose, `netmon kernel` and NETMON_FORCE_VARIANT show and take.
public struct JobPart<Variant: RawRepresentable & Sendable>: Sendable where Variant.RawValue == String {
    public let group: VariantGroup
    private let cases: [Variant]

    public init(_ name: String, job: String, variants: [JobVariant<Variant>]) {
        group = VariantGroup(name, job: job, variants: variants.map {
            ProgramVariant($0.variant.rawValue, programs: $0.programs, requires: $0.requirements)
        })
        cases = variants.map(\.variant)
    }

    /// The programs `variant` enables.
    public func programs(of variant: Variant) -> [String] {
        group.variants.first { $0.name == variant.rawValue }?.programs ?? []
    }

    fileprivate func variant(named name: String) -> Variant {
        cases.first { $0.rawValue == name }!  // BPFObjectSpec.choose returns one of group's variants
    }
}

/// A variant of a part: its case, the programs it enables and what the kernel must have.
public struct JobVariant<Variant: RawRepresentable & Sendable>: Sendable where Variant.RawValue == String {
    public let variant: Variant
    public let programs: [String]
    public let requirements: [KernelRequirement]

    public init(_ variant: Variant, programs: [String], requires requirements: [KernelRequirement]) {
        self.variant = variant
        self.programs = programs
        self.requirements = requirements
    }
}
