import BPFKit

/// Kernel features that more than one command's programs need, named once so that every command
/// probes them the same way and its messages name them the same way.
extension KernelRequirement {
    /// sock:inet_sock_set_state with typed arguments: conn's connects, inerrs' socket holders.
    public static let stateChangeTracepoint = KernelRequirement(
        .hook(.btfTracepoint(category: "sock", name: "inet_sock_set_state")),
        "BTF-typed tracepoint sock:inet_sock_set_state (Linux 5.5+)")

    /// The accept syscalls' own exit tracepoints: the program runs only on accepts, but they need
    /// tracefs, and while attached every syscall of the host takes the kernel's slow path
    /// (+54 ns per getppid() on Linux 6.18, and +169 ns with raw_syscalls:sys_exit below, which
    /// also runs its program per syscall; Scripts/bench's getppid() rows).
    public static let acceptExitTracepoints = [
        KernelRequirement(.hook(.tracepoint(category: "syscalls", name: "sys_exit_accept4")),
                          "tracepoint syscalls:sys_exit_accept4 (tracefs)"),
        KernelRequirement(.hook(.tracepoint(category: "syscalls", name: "sys_exit_accept")),
                          "tracepoint syscalls:sys_exit_accept (tracefs)"),
    ]

    /// Every syscall's exit, typed: needs only BTF, but runs on every system call.
    public static let sysExitTracepoint = KernelRequirement(
        .hook(.btfTracepoint(category: "raw_syscalls", name: "sys_exit")),
        "BTF-typed tracepoint raw_syscalls:sys_exit (Linux 5.5+)")

    /// The kfunc that makes a pointer read from memory a BTF pointer again, so that a program
    /// follows an fd to its socket with plain loads instead of a helper call per field.
    public static let readOnlyCast = KernelRequirement(.function("bpf_rdonly_cast"), "kfunc bpf_rdonly_cast (Linux 6.2+)")
}

/// Where conn and inerrs see accept() return a socket, in the same four ways (their accept parts).
public enum AcceptExitVariant: String, Sendable {
    /// The accept syscalls' own exit tracepoints, following the fd with plain loads.
    case syscalls
    /// Every syscall's exit, with plain loads.
    case sysExit = "sys_exit"
    /// The accept syscalls' exits, with CO-RE helper reads (no bpf_rdonly_cast).
    case syscallsCore = "syscalls_core"
    /// Every syscall's exit, with CO-RE helper reads.
    case sysExitCore = "sys_exit_core"
}
