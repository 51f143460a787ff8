import CLinux
import Glibc
import NetmonJobs

/// Waits for whatever ends or drives a run: SIGINT/SIGTERM, a deadline, a readable fd (a ring
/// buffer's epoll fd), or the stdout pipe's reader going away.
///
/// SIGINT and SIGTERM are blocked and read from a signalfd, so a stop is an ordinary event of the
/// loop: no async-signal-safety concerns, and cleanup always runs on the main path. SIGPIPE is
/// ignored, so a write to a closed pipe fails with EPIPE instead of killing netmon.
public final class EventLoop {
    public enum Wake: Equatable, Sendable {
        /// SIGINT or SIGTERM arrived.
        case stop
        /// The deadline passed.
        case deadline
        /// The watched fd is readable.
        case readable
        /// Standard output is a pipe whose reader has closed it.
        case outputClosed
    }

    private let signalFD: Int32

    public init() throws {
        // A shell starts background jobs with SIGINT ignored, and an ignored signal is discarded
        // even while blocked: restore the default so that the signalfd receives it.
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        var stops = sigset_t()
        sigemptyset(&stops)
        sigaddset(&stops, SIGINT)
        sigaddset(&stops, SIGTERM)
        guard sigprocmask(SIG_BLOCK, &stops, nil) == 0 else {
            throw RuntimeFailure("cannot block SIGINT/SIGTERM: \(String(cString: strerror(errno)))")
        }
        signalFD = signalfd(-1, &stops, Int32(SFD_CLOEXEC | SFD_NONBLOCK))
        guard signalFD >= 0 else {
            throw RuntimeFailure("cannot create a signalfd: \(String(cString: strerror(errno)))")
        }
        signal(SIGPIPE, SIG_IGN)
    }

    deinit { close(signalFD) }

    /// Blocks until something happens, at the latest `deadline` (monotonic nanoseconds), and says what.
    /// A stop wins over everything else that is ready at the same time.
    public func wait(until deadline: UInt64?, readable fd: Int32? = nil) -> Wake {
        var fds = [
            pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0),
            // No events asked: poll reports POLLERR/POLLHUP on a pipe whose reader closed it.
            pollfd(fd: STDOUT_FILENO, events: 0, revents: 0),
        ]
        if let fd { fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0)) }
        while true {
            let timeout: Int32
            if let deadline {
                let now = MonotonicClock.now
                // A deadline already passed still polls (without waiting): a caller behind schedule
                // calls again at once, and a stop must end it rather than wait for it to catch up.
                // Round up, so that we never wake a little early and spin.
                timeout = now >= deadline ? 0 : Int32(min((deadline - now + 999_999) / 1_000_000, UInt64(Int32.max)))
            } else {
                timeout = -1
            }
            let ready = poll(&fds, nfds_t(fds.count), timeout)
            if ready < 0 {
                if errno == EINTR { continue }
                return .stop
            }
            if fds[0].revents != 0 {
                var info = signalfd_siginfo()
                _ = read(signalFD, &info, MemoryLayout<signalfd_siginfo>.size)
                return .stop
            }
            if fds[1].revents & Int16(POLLERR | POLLHUP) != 0 { return .outputClosed }
            // No standard output at all (started with it closed): nothing to watch there.
            if fds[1].revents & Int16(POLLNVAL) != 0 { fds[1].fd = -1 }
            if fds.count > 2, fds[2].revents != 0 { return .readable }
            if let deadline, ready == 0 || MonotonicClock.now >= deadline { return .deadline }
        }
    }
}
