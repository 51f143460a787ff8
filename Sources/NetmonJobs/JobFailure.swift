/// A job that cannot start for a reason that is not the BPF layer's (a kernel file it cannot read):
/// the CLI prints it as `netmon: MESSAGE` and exits with status 1.
public struct JobFailure: Error, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
