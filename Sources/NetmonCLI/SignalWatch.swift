import CLinux
import Glibc

/// A signal read from a signalfd instead of interrupting netmon (serve re-reads its web config on
/// SIGHUP this way). Create it before starting threads: it blocks the signal in the calling
/// thread, and threads inherit the mask.
public final class SignalWatch {
    /// Readable when the signal arrived (for EventLoop.wait's `readable`).
    public let fd: Int32

    public init(_ signal: Int32) throws {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        guard sigprocmask(SIG_BLOCK, &set, nil) == 0 else {
            throw RuntimeFailure("cannot block signal \(signal): \(String(cString: strerror(errno)))")
        }
        fd = signalfd(-1, &set, Int32(SFD_CLOEXEC | SFD_NONBLOCK))
        guard fd >= 0 else { throw RuntimeFailure("cannot create a signalfd: \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    /// Whether the signal arrived since the last call (several arrivals count once).
    public func consume() -> Bool {
        var info = signalfd_siginfo()
        var arrived = false
        while read(fd, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size { arrived = true }
        return arrived
    }
}
