import BPFKit

/// One netmon subcommand: its help, its parsed options, and its run.
public protocol Subcommand {
    /// The word after `netmon` that selects it ("nic").
    static var name: String { get }
    /// One line for `netmon --help`.
    static var summary: String { get }
    /// What `netmon NAME --help` prints.
    static var help: CommandHelp { get }

    /// Parses the arguments that follow the command's name.
    init(parsing arguments: [String]) throws(UsageError)

    /// The options every command has (--count, --json, --verbose).
    var common: CommonOptions { get }

    /// Runs until the user stops it, the count is reached, or something fails.
    func run(_ context: RunContext) throws

    /// The jobs its BPF programs do and their variants, best first (`netmon kernel` reports them).
    static var variantGroups: [VariantGroup] { get }
}

extension Subcommand {
    public static var variantGroups: [VariantGroup] { [] }
}

/// What a running command writes to, and how it picks its programs.
public struct RunContext {
    /// Buffered standard output; flush at the end of each interval or burst of events.
    public let output: OutputWriter
    /// Standard error, for diagnostics and the start-up line; never buffered.
    public let diagnostics: Diagnostics
    /// --verbose: say which variant each job uses.
    public let verbose: Bool
    /// Variants forced through NETMON_FORCE_VARIANT (tests of older kernels' paths).
    public let variantOverrides: VariantOverrides
    /// Every command of this netmon (for commands about the others: `netmon kernel`).
    public let commands: [any Subcommand.Type]

    public init(output: OutputWriter, diagnostics: Diagnostics, verbose: Bool = false,
                variantOverrides: VariantOverrides = VariantOverrides(), commands: [any Subcommand.Type] = []) {
        self.output = output
        self.diagnostics = diagnostics
        self.verbose = verbose
        self.variantOverrides = variantOverrides
        self.commands = commands
    }

    /// Enables the variant of `group` this kernel supports (or the forced one) and, with --verbose,
    /// says which: `netmon: bytes.send: tp_btf (tracepoint sock:sock_send_length (Linux 6.3+))`.
    @discardableResult
    public func choose(_ group: VariantGroup, in spec: borrowing BPFObjectSpec,
                       probe: KernelProbe) throws(BPFError) -> ProgramVariant {
        let variant = try spec.choose(group, probe: probe, overrides: variantOverrides)
        if verbose {
            let needs = variant.requirements.map(\.description).joined(separator: ", ")
            diagnostics.line("netmon: \(group.name): \(variant.name)\(needs.isEmpty ? "" : " (\(needs))")")
        }
        return variant
    }

    /// The line tests and benchmarks wait for: every program is attached and tracing has begun.
    /// The capabilities only loading and attaching needed are dropped first (LeastPrivilege).
    public func announceTracing() {
        dropCapabilities()
        diagnostics.line("Tracing... Hit Ctrl-C to end.")
    }

    /// Drops the capabilities netmon no longer needs once its programs are attached. Call it
    /// before starting a thread (capabilities are per thread); announceTracing calls it too.
    public func dropCapabilities() {
        LeastPrivilege.drop(diagnostics: diagnostics)
    }
}
