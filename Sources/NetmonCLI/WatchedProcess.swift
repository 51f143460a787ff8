import Glibc

/// The process a `-p PID` filter names.
public enum WatchedProcess {
    /// The warning for a `-p` that names no running process. Not an error: the filter stays, and
    /// counts a process that gets this id later (pids are reused); but a mistyped pid would
    /// otherwise look like a process that does nothing.
    public static func warnIfAbsent(_ pid: UInt32?, diagnostics: Diagnostics) {
        guard let pid, kill(pid_t(pid), 0) != 0, errno == ESRCH else { return }
        diagnostics.line("netmon: warning: no process \(pid) is running (-p \(pid) matches a process that gets this id later)")
    }
}
