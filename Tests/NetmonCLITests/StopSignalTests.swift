import Glibc
import NetmonCLI
import NetmonJobs
import Testing

/// A stop (SIGINT/SIGTERM) must end a run on every path: when the loop is behind schedule, and
/// when the output's reader has stopped reading. Each test blocks the signal on its own thread and
/// raises it there, so it stays pending for that thread and never reaches the test runner.
@Suite("Stop signals", .serialized)
struct StopSignalTests {
    /// Blocks SIGTERM on this thread for `body`, then discards a SIGTERM still pending.
    func withSIGTERMBlocked(_ body: () throws -> Void) rethrows {
        var set = sigset_t(), old = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &set, &old)
        defer {
            var zero = timespec(tv_sec: 0, tv_nsec: 0)
            while sigtimedwait(&set, nil, &zero) == SIGTERM {}
            pthread_sigmask(SIG_SETMASK, &old, nil)
        }
        try body()
    }

    @Test("a deadline already passed: a pending stop still wins")
    func stopBehindSchedule() throws {
        try withSIGTERMBlocked {
            let loop = try EventLoop()
            #expect(loop.wait(until: MonotonicClock.now - 1) == .deadline)
            raise(SIGTERM)
            #expect(loop.wait(until: MonotonicClock.now - 1_000_000) == .stop)
            #expect(loop.wait(until: 0) == .deadline)
        }
    }

    @Test("a reader that stopped reading: flush ends with NormalEnd once a stop is pending")
    func stalledReader() throws {
        try withSIGTERMBlocked {
            var fds: [Int32] = [0, 0]
            #expect(pipe(&fds) == 0)
            defer { close(fds[0]); close(fds[1]) }
            // Fill the pipe, then make its writes block again.
            let flags = fcntl(fds[1], F_GETFL)
            _ = fcntl(fds[1], F_SETFL, flags | O_NONBLOCK)
            var chunk = [UInt8](repeating: 120, count: 4096)
            while write(fds[1], &chunk, chunk.count) > 0 {}
            _ = fcntl(fds[1], F_SETFL, flags)

            let writer = OutputWriter(fd: fds[1])
            try writer.write(String(repeating: "line\n", count: 4000))
            raise(SIGTERM)
            let started = MonotonicClock.now
            #expect(throws: NormalEnd.self) { try writer.flush() }
            #expect(MonotonicClock.now - started < 1_000_000_000)
        }
    }

    @Test("a reader that reads: everything is written, even with a stop pending")
    func writableOutput() throws {
        try withSIGTERMBlocked {
            var fds: [Int32] = [0, 0]
            #expect(pipe(&fds) == 0)
            defer { close(fds[0]); close(fds[1]) }
            let writer = OutputWriter(fd: fds[1])
            try writer.write(String(repeating: "x", count: 10_000))
            raise(SIGTERM)
            try writer.flush()
            var buffer = [UInt8](repeating: 0, count: 20_000)
            var total = 0
            let flags = fcntl(fds[0], F_GETFL)
            _ = fcntl(fds[0], F_SETFL, flags | O_NONBLOCK)
            while case let count = read(fds[0], &buffer, buffer.count), count > 0 { total += count }
            #expect(total == 10_000)
        }
    }
}

@Suite("One-line messages")
struct OneLineTests {
    @Test("control characters are escaped; other text is kept")
    func escapes() {
        #expect(OneLine.escaping("a\nb\r\tc\u{1b}[2J\u{7f}\u{85}é\u{0}") == "a\\nb\\r\\tc\\x1b[2J\\x7f\\x85é\\x00")
        #expect(OneLine.escaping("plain 'text'") == "plain 'text'")
    }
}
