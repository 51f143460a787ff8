import BPFKit
import CNetmonBPF
import NetmonCLI

/// Opens BPFPrograms/conn.bpf.c with the programs this kernel and these filters need.
enum ConnProgram {
    /// Every program of conn.bpf.c; load enables those the filters and the kernel call for.
    static let programNames = ["conn_state", "conn_accept4_exit_tp", "conn_accept_exit_tp", "conn_sys_exit_btf"]

    static func load(filter: ConnFilter, diagnostics: Diagnostics) throws -> BPFObject {
        let kernel = try KernelBTF()
        let spec = try EmbeddedObject.open("conn")

        // connect: the typed tracepoint (its socket argument is read with plain loads).
        if filter.tracesConnects {
            try spec.chooseProgram([("conn_state", .btfTracepoint(category: "sock", name: "inet_sock_set_state"))],
                                   kernel: kernel)
        } else {
            try spec.setAutoload(false, program: "conn_state")
        }

        // accept: the per-syscall tracepoints cost nothing on other syscalls but need tracefs;
        // raw_syscalls:sys_exit needs only BTF.
        if filter.tracesAccepts && PrivateTracefs.mountIfMissing() == .mountedPrivately {
            diagnostics.line("netmon: tracefs was not mounted; netmon mounted it in a mount namespace of its own (the host's mounts are unchanged)")
        }
        let perSyscall = Hook.tracepoint(category: "syscalls", name: "sys_exit_accept4").exists(in: kernel)
            && Hook.tracepoint(category: "syscalls", name: "sys_exit_accept").exists(in: kernel)
        let useSyscallTracepoints = filter.tracesAccepts && perSyscall
        try spec.setAutoload(useSyscallTracepoints, program: "conn_accept4_exit_tp")
        try spec.setAutoload(useSyscallTracepoints, program: "conn_accept_exit_tp")
        if filter.tracesAccepts && !perSyscall {
            try spec.chooseProgram([("conn_sys_exit_btf", .btfTracepoint(category: "raw_syscalls", name: "sys_exit"))],
                                   kernel: kernel)
        } else {
            try spec.setAutoload(false, program: "conn_sys_exit_btf")
        }

        try spec.setConstant("conn_config", to: filter.config)
        return try spec.load()
    }
}
