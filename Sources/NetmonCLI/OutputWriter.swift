import Glibc

/// Buffered standard output. Text accumulates until `flush()`, which commands call at the end of
/// each interval or burst of events, so a pipe reader sees whole tables and whole lines.
///
/// A reader that went away (`| head -1`) makes a write fail with EPIPE (SIGPIPE is ignored);
/// `flush` then throws `NormalEnd`: netmon cleans up and exits 0, quietly.
public final class OutputWriter {
    private let fd: Int32
    private var buffer: [UInt8] = []
    private static let autoFlushSize = 1 << 16

    public init(fd: Int32 = STDOUT_FILENO) {
        self.fd = fd
        buffer.reserveCapacity(Self.autoFlushSize)
    }

    /// Whether the output is a terminal (for clearing the screen, never for pipes and files).
    public var isTerminal: Bool { isatty(fd) == 1 }

    public func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= Self.autoFlushSize { try flush() }
    }

    public func line(_ text: String) throws {
        try write(text)
        try write("\n")
    }

    /// Writes what is buffered. A reader slower than netmon makes this wait, but never past a stop:
    /// each write is at most PIPE_BUF bytes and made only once poll says the output takes it, and
    /// while it does not, a pending SIGINT/SIGTERM (blocked by the EventLoop) ends the run.
    public func flush() throws {
        var written = 0
        while written < buffer.count {
            try waitUntilWritable()
            let result = buffer.withUnsafeBytes {
                Glibc.write(fd, $0.baseAddress! + written, min($0.count - written, Int(PIPE_BUF)))
            }
            if result < 0 {
                if errno == EINTR { continue }
                buffer.removeAll(keepingCapacity: true)
                if errno == EPIPE { throw NormalEnd() }
                throw RuntimeFailure("cannot write the output: \(String(cString: strerror(errno)))")
            }
            written += result
        }
        buffer.removeAll(keepingCapacity: true)
    }

    private func waitUntilWritable() throws {
        while true {
            var polled = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            // Writable, closed (the write then says EPIPE) or not pollable: go on and write.
            if poll(&polled, 1, Self.stopCheckMilliseconds) != 0 { return }
            if Self.stopPending() {
                buffer.removeAll(keepingCapacity: true)
                throw NormalEnd()
            }
        }
    }

    /// How often a stalled write looks for a stop signal.
    static let stopCheckMilliseconds: Int32 = 100

    /// Whether SIGINT or SIGTERM waits to be delivered (they are blocked while netmon runs).
    static func stopPending() -> Bool {
        var pending = sigset_t()
        sigpending(&pending)
        return sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1
    }
}

/// Standard error: one unbuffered line at a time.
public struct Diagnostics: Sendable {
    public init() {}

    public func line(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress! + written, $0.count - written) }
            if result < 0 && errno == EINTR { continue }
            if result <= 0 { return }
            written += result
        }
    }
}
