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
}

/// What a running command writes to.
public struct RunContext {
    /// Buffered standard output; flush at the end of each interval or burst of events.
    public let output: OutputWriter
    /// Standard error, for diagnostics and the start-up line; never buffered.
    public let diagnostics: Diagnostics

    public init(output: OutputWriter, diagnostics: Diagnostics) {
        self.output = output
        self.diagnostics = diagnostics
    }

    /// The line tests and benchmarks wait for: every program is attached and tracing has begun.
    public func announceTracing() {
        diagnostics.line("Tracing... Hit Ctrl-C to end.")
    }
}
