import BPFKit
import NetmonJobs

/// `netmon kernel`: what the running kernel offers each command: for every job, the variant netmon
/// will use and what the others lack. Found by the same probes the commands use at start-up.
public struct KernelCommand: Subcommand {
    public static let name = "kernel"
    public static let summary = "which hooks this kernel offers each command, and what it lacks"

    static let options = [
        OptionSpec(nil, "json", help: "one JSON object per job"),
        OptionSpec(nil, "verbose", help: "show libbpf's messages"),
        OptionSpec("h", "help", help: "show this help"),
    ]

    public static let help = CommandHelp(
        usage: "netmon kernel [--json]",
        description: """
            For every job of every command, the variant netmon uses on this kernel (the first one
            the kernel supports, in order of preference) and, for each other variant, what the
            kernel lacks for it. Nothing is attached; fentry/fexit and iterator support, and what
            only the verifier can tell, are tested by loading a tiny program, which needs root or
            CAP_BPF (without them those variants show as missing).
            """,
        options: options,
        examples: [
            ("netmon kernel", "the variants of this kernel"),
            ("netmon kernel --json | jq -r 'select(.chosen == null) | .group'", "jobs this kernel cannot do"),
        ],
        notes: """
            Columns: JOB is command.part; USES is the variant chosen (- when none works: that
            command fails on this kernel with the reason shown); the other variants follow, each
            marked + (available) or - (missing, with what it needs). The variant names are those
            --verbose prints when a command starts.
            """
    )

    public let common: CommonOptions

    public init(parsing arguments: [String]) throws(UsageError) {
        let options = try ParsedOptions(parsing: arguments, specs: Self.options, command: Self.name)
        common = CommonOptions(json: options.isSet("json"), verbose: options.isSet("verbose"))
    }

    /// As conn does: the per-syscall tracepoints are usable once tracefs is mounted.
    public var usesTracefs: Bool { true }

    public func run(_ context: RunContext) throws {
        let probe = try KernelProbe(objects: EmbeddedObject.open)
        let groups = Jobs.parts
        var rows: [(group: VariantGroup, available: [String: [KernelRequirement]])] = []
        for group in groups {
            var missing: [String: [KernelRequirement]] = [:]
            for variant in group.variants {
                missing[variant.name] = variant.requirements.filter { !probe.has($0) }
            }
            rows.append((group, missing))
        }
        if common.json {
            for row in rows {
                var line = JSONLine()
                line.add("group", row.group.name)
                line.add("job", row.group.job)
                if let chosen = row.group.variants.first(where: { row.available[$0.name]?.isEmpty == true }) {
                    line.add("chosen", chosen.name)
                } else {
                    line.addNull("chosen")
                }
                line.add("variants", row.group.variants.map { variant in
                    var entry = JSONLine()
                    entry.add("name", variant.name)
                    entry.add("requires", variant.requirements.map(\.description))
                    let lacks = row.available[variant.name] ?? []
                    entry.add("available", lacks.isEmpty)
                    entry.add("missing", lacks.map(\.description))
                    return entry
                })
                try context.output.line(line.text)
            }
        } else {
            let width = (groups.map(\.name.count).max() ?? 3) + 2
            let usesWidth = (groups.flatMap { $0.variants.map(\.name.count) }.max() ?? 4) + 2
            try context.output.line("JOB".leftAligned(width) + "USES".leftAligned(usesWidth) + "VARIANTS")
            for row in rows {
                let chosen = row.group.variants.first { row.available[$0.name]?.isEmpty == true }
                let variants = row.group.variants.map { variant in
                    let lacks = row.available[variant.name] ?? []
                    return lacks.isEmpty ? "+\(variant.name)"
                        : "-\(variant.name) (needs \(lacks.map(\.description).joined(separator: ", ")))"
                }
                try context.output.line(row.group.name.leftAligned(width) + (chosen?.name ?? "-").leftAligned(usesWidth)
                                        + variants.joined(separator: "  "))
            }
        }
        try context.output.flush()
    }
}
