import BPFKit
import NetmonJobs

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

    /// Whether this run may attach classic tracepoints (the accept exits), for which the router
    /// mounts tracefs privately, before the command runs, if the host has not mounted it.
    var usesTracefs: Bool { get }
}

extension Subcommand {
    public var usesTracefs: Bool { false }
}

/// What a running command writes to, and how its jobs pick their programs.
public struct RunContext {
    /// Buffered standard output; flush at the end of each interval or burst of events.
    public let output: OutputWriter
    /// Standard error, for diagnostics and the start-up line; never buffered.
    public let diagnostics: Diagnostics
    /// --verbose: say which variant each job uses.
    public let verbose: Bool
    /// What the jobs choose their variants with: the forced ones (NETMON_FORCE_VARIANT), and with
    /// --verbose a line per part: `netmon: bytes.send: tp_btf (tracepoint sock:sock_send_length (Linux 6.3+))`.
    public let chooser: VariantChooser

    public init(output: OutputWriter, diagnostics: Diagnostics, verbose: Bool = false,
                variantOverrides: VariantOverrides = VariantOverrides()) {
        self.output = output
        self.diagnostics = diagnostics
        self.verbose = verbose
        chooser = VariantChooser(overrides: variantOverrides, announce: verbose ? { diagnostics.line($0) } : nil)
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
