import BPFKit
import Glibc

/// Makes tracefs available to this process alone when the host has not mounted it, so the
/// accept exits can use syscalls:sys_exit_accept4/sys_exit_accept instead of raw_syscalls:sys_exit
/// (a program run on every syscall of the machine, on top of the slow path both put every syscall
/// on: KernelRequirement.acceptExitTracepoints).
///
/// netmon moves itself into a private mount namespace (propagation off, so nothing leaks to the
/// host) and mounts tracefs there; libbpf reads the tracepoint ids from it. The attached
/// tracepoints do not depend on the mount, and netmon opens nothing else by path that a private
/// mount namespace would change. Needs CAP_SYS_ADMIN; without it nothing happens.
///
/// A process-wide change that a multi-threaded process cannot make (unshare(CLONE_NEWNS) fails
/// with EINVAL once threads share the fs context): the CLI settles it once, before any command
/// runs, never a job's loader.
public enum PrivateTracefs {
    public static let mountPoint = "/sys/kernel/tracing"

    public enum Outcome: Sendable { case alreadyMounted, mountedPrivately, unavailable }

    /// Whether tracefs was there (at either of its mount points), is now mounted for this process
    /// alone, or cannot be had.
    public static func mountIfMissing() -> Outcome {
        if Tracefs.root != nil { return .alreadyMounted }
        guard access(mountPoint, F_OK) == 0,
              unshareMountNamespace()
        else { return .unavailable }
        guard mount(nil, "/", nil, UInt(MS_REC | MS_PRIVATE), nil) == 0,
              mount("nodev", mountPoint, "tracefs", 0, nil) == 0
        else { return .unavailable }
        return access(mountPoint + "/events", F_OK) == 0 ? .mountedPrivately : .unavailable
    }

    /// What --verbose says when netmon mounted it.
    public static let mountedNote =
        "netmon: tracefs was not mounted; netmon mounted it in a mount namespace of its own (the host's mounts are unchanged)"

    /// unshare(CLONE_NEWNS). Glibc declares unshare(2) only under _GNU_SOURCE, which Swift's
    /// Glibc module does not define, so it is looked up by name.
    private static func unshareMountNamespace() -> Bool {
        typealias Unshare = @convention(c) (Int32) -> Int32
        let cloneNewNS: Int32 = 0x0002_0000
        guard let symbol = dlsym(nil, "unshare") else { return false }
        return unsafeBitCast(symbol, to: Unshare.self)(cloneNewNS) == 0
    }
}
