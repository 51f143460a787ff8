import BPFKit
import CNetmonBPF
import NetmonCLI

/// Opens BPFPrograms/conn.bpf.c with the programs this kernel and these filters need.
enum ConnProgram {
    static let connect = VariantGroup("conn.connect", job: "see connect() calls reach ESTABLISHED", variants: [
        ProgramVariant("tp_btf", programs: ["conn_state"],
                       requires: [KernelRequirement(.hook(.btfTracepoint(category: "sock", name: "inet_sock_set_state")),
                                                    "BTF-typed tracepoint sock:inet_sock_set_state (Linux 5.5+)")]),
    ])

    // accept: the per-syscall tracepoints cost nothing on other syscalls but need tracefs;
    // raw_syscalls:sys_exit needs only BTF, and runs on every system call. Each reads the socket
    // with plain loads through BTF pointers where the kernel has bpf_rdonly_cast, and through
    // CO-RE helper reads (the *_core variants, a little slower) where it does not.
    static let rdonlyCast = KernelRequirement(.function("bpf_rdonly_cast"), "kfunc bpf_rdonly_cast (Linux 6.2+)")
    static let acceptTracepoints = [
        KernelRequirement(.hook(.tracepoint(category: "syscalls", name: "sys_exit_accept4")),
                          "tracepoint syscalls:sys_exit_accept4 (tracefs)"),
        KernelRequirement(.hook(.tracepoint(category: "syscalls", name: "sys_exit_accept")),
                          "tracepoint syscalls:sys_exit_accept (tracefs)"),
    ]
    static let sysExit = KernelRequirement(.hook(.btfTracepoint(category: "raw_syscalls", name: "sys_exit")),
                                           "BTF-typed tracepoint raw_syscalls:sys_exit (Linux 5.5+)")

    static let accept = VariantGroup("conn.accept", job: "see accept() return connections", variants: [
        ProgramVariant("syscalls", programs: ["conn_accept4_exit_tp", "conn_accept_exit_tp"],
                       requires: acceptTracepoints + [rdonlyCast]),
        ProgramVariant("sys_exit", programs: ["conn_sys_exit_btf"], requires: [sysExit, rdonlyCast]),
        ProgramVariant("syscalls_core", programs: ["conn_accept4_core", "conn_accept_core"], requires: acceptTracepoints),
        ProgramVariant("sys_exit_core", programs: ["conn_sys_exit_core"], requires: [sysExit]),
    ])

    static var groups: [VariantGroup] { [connect, accept] }

    /// Every program of conn.bpf.c.
    static var programNames: [String] { groups.flatMap(\.programs) }

    static func load(filter: ConnFilter, context: RunContext) throws -> BPFObject {
        let spec = try EmbeddedObject.open("conn")
        if filter.tracesAccepts { PrivateTracefs.mountIfNeeded(context) }
        do {
            let probe = try KernelProbe()
            for (group, wanted) in [(connect, filter.tracesConnects), (accept, filter.tracesAccepts)] {
                if wanted {
                    try context.choose(group, in: spec, probe: probe)
                } else {
                    for program in group.programs { try spec.setAutoload(false, program: program) }
                }
            }
        }
        try spec.setConstant("conn_config", to: filter.config)
        return try spec.load()
    }
}
