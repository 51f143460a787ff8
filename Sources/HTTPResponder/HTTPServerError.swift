import Glibc

/// A server that could not start: what it tried, and the system's reason.
public struct HTTPServerError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let errno: Int32

    init(_ message: String, errno: Int32) {
        self.message = message
        self.errno = errno
    }

    public var description: String { "\(message): \(String(cString: strerror(errno)))" }
}
