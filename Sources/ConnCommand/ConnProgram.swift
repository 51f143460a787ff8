import BPFKit
import Glibc
import CNetmonBPF
import NetmonCLI

/// Opens BPFPrograms/conn.bpf.c with the programs this kernel and these filters need.
enum ConnProgram {
    static let connect = VariantGroup("conn.connect", job: "see connect() calls reach ESTABLISHED", variants: [
        ProgramVariant("tp_btf", programs: ["conn_state"], requires: [.stateChangeTracepoint]),
    ])

    // accept: the per-syscall tracepoints cost nothing on other syscalls but need tracefs;
    // raw_syscalls:sys_exit needs only BTF, and runs on every system call. Each reads the socket
    // with plain loads through BTF pointers where the kernel has bpf_rdonly_cast, and through
    // CO-RE helper reads (the *_core variants, a little slower) where it does not.
    static let accept = VariantGroup("conn.accept", job: "see accept() return connections", variants: [
        ProgramVariant("syscalls", programs: ["conn_accept4_exit_tp", "conn_accept_exit_tp"],
                       requires: KernelRequirement.acceptExitTracepoints + [.readOnlyCast]),
        ProgramVariant("sys_exit", programs: ["conn_sys_exit_btf"], requires: [.sysExitTracepoint, .readOnlyCast]),
        ProgramVariant("syscalls_core", programs: ["conn_accept4_core", "conn_accept_core"],
                       requires: KernelRequirement.acceptExitTracepoints),
        ProgramVariant("sys_exit_core", programs: ["conn_sys_exit_core"], requires: [.sysExitTracepoint]),
    ])

    static var groups: [VariantGroup] { [connect, accept] }

    /// Every program of conn.bpf.c.
    static var programNames: [String] { groups.flatMap(\.programs) }

    /// `countOnly`: the programs count connections in the kernel's maps (netmon serve) instead of
    /// sending events.
    static func load(filter: ConnFilter, context: RunContext, countOnly: Bool = false) throws -> BPFObject {
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
        var config = filter.config
        config.count_only = countOnly ? 1 : 0
        try spec.setConstant("conn_config", to: config)
        // Counting sends no event: the ring buffer shrinks to its smallest size (one page).
        if countOnly { try spec.setMaxEntries(UInt32(sysconf(Int32(_SC_PAGESIZE))), map: ConnFeed.events) }
        return try spec.load()
    }
}
