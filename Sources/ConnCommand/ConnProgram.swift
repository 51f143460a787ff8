import BPFKit
import CNetmonBPF
import NetmonCLI

/// Opens BPFPrograms/conn.bpf.c with the programs this kernel and these filters need.
enum ConnProgram {
    static func load(filter: ConnFilter) throws -> BPFObject {
        let kernel = try KernelBTF()
        let spec = try EmbeddedObject.open("conn")

        // connect: the typed tracepoint where the kernel has it, the raw one otherwise.
        let stateCandidates: [(program: String, hook: Hook)] = [
            ("conn_state_btf", .btfTracepoint(category: "sock", name: "inet_sock_set_state")),
            ("conn_state_raw", .rawTracepoint(category: "sock", name: "inet_sock_set_state")),
        ]
        if filter.tracesConnects {
            try spec.chooseProgram(stateCandidates, kernel: kernel)
        } else {
            for candidate in stateCandidates { try spec.setAutoload(false, program: candidate.program) }
        }

        // accept: the per-syscall tracepoints cost nothing on other syscalls but need tracefs;
        // raw_syscalls:sys_exit needs only BTF.
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
