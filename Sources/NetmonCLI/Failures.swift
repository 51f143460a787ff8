/// The exit statuses netmon uses.
public enum ExitStatus: Int32, Sendable {
    /// Normal end: the count was reached, Ctrl-C, SIGTERM, or the reader closed the pipe.
    case success = 0
    /// Something failed at run time.
    case failure = 1
    /// The command line was wrong.
    case usage = 2
}

/// A command line netmon cannot act on. Printed as `netmon: MESSAGE` and a hint; exit status 2.
public struct UsageError: Error, Equatable, Sendable {
    public let message: String
    /// The subcommand whose help the hint points to, or nil for `netmon --help`.
    public let command: String?

    public init(_ message: String, command: String? = nil) {
        self.message = message
        self.command = command
    }

    public var hint: String {
        "Try 'netmon\(command.map { " \($0)" } ?? "") --help' for more information."
    }
}

/// A failure at run time that is not the BPF layer's: printed as `netmon: MESSAGE`; exit status 1.
public struct RuntimeFailure: Error, Sendable {
    public let message: String
    /// The exit status; usage for input problems that are only found at run time (no such interface).
    public let status: ExitStatus

    public init(_ message: String, status: ExitStatus = .failure) {
        self.message = message
        self.status = status
    }
}

/// Thrown to end a run normally from deep inside it (count reached, stop signal, closed pipe).
public struct NormalEnd: Error, Sendable {
    public init() {}
}
