import BPFKit

/// The parts of BPFPrograms/conn.bpf.c and the programs that do each, best first.
enum ConnProgram {
    enum ConnectVariant: String, Sendable {
        case tpBTF = "tp_btf"
    }

    static let connect = JobPart<ConnectVariant>("conn.connect", job: "see connect() calls reach ESTABLISHED", variants: [
        .init(.tpBTF, programs: ["conn_state"], requires: [.stateChangeTracepoint]),
    ])

    // accept: the per-syscall tracepoints cost nothing on other syscalls but need tracefs;
    // raw_syscalls:sys_exit needs only BTF, and runs on every system call. Each reads the socket
    // with plain loads through BTF pointers where the kernel has bpf_rdonly_cast, and through
    // CO-RE helper reads (the *_core variants, a little slower) where it does not.
    static let accept = JobPart<AcceptExitVariant>("conn.accept", job: "see accept() return connections", variants: [
        .init(.syscalls, programs: ["conn_accept4_exit_tp", "conn_accept_exit_tp"],
              requires: KernelRequirement.acceptExitTracepoints + [.readOnlyCast]),
        .init(.sysExit, programs: ["conn_sys_exit_btf"], requires: [.sysExitTracepoint, .readOnlyCast]),
        .init(.syscallsCore, programs: ["conn_accept4_core", "conn_accept_core"],
              requires: KernelRequirement.acceptExitTracepoints),
        .init(.sysExitCore, programs: ["conn_sys_exit_core"], requires: [.sysExitTracepoint]),
    ])

    static var parts: [VariantGroup] { [connect.group, accept.group] }

    /// Every program of conn.bpf.c.
    static var programNames: [String] { parts.flatMap(\.programs) }
}
