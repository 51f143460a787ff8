import BPFKit

/// The parts of BPFPrograms/inerrs.bpf.c and the programs that do each, best first.
enum InerrsProgram {
    /// How a dropped segment is seen.
    enum DropVariant: String, Sendable {
        /// skb:kfree_skb with the reason and the socket it was delivered to.
        case rxSocket = "rx_sk"
        /// skb:kfree_skb with the reason.
        case reason
        /// No drop reasons: kfree_skb's location, and fexit on TCP's checks.
        case fexit
        /// No drop reasons: kfree_skb's location only.
        case location

        /// Whether it reports enum inerrs_legacy_reason numbers instead of the kernel's reasons.
        var isLegacy: Bool { self == .fexit || self == .location }
        /// Whether its program is BTF-typed and so may read socket-local storage.
        var mayReadSocketStorage: Bool { self == .rxSocket || self == .reason }
    }

    /// Where the holders of sockets are kept.
    enum OwnersVariant: String, Sendable {
        /// Socket-local storage (listeners, start-up sockets) and the address index.
        case socketStorage = "sk_storage"
        /// The address index only.
        case index
    }

    /// skb:kfree_skb gained the drop reason in 5.17 and the socket the segment was delivered to
    /// (rx_sk) in 6.13; distributions backport, so the arguments are read from the kernel's BTF.
    static let drop = JobPart<DropVariant>("inerrs.drop", job: "see TCP segments the kernel drops, with its reason", variants: [
        .init(.rxSocket, programs: ["inerrs_drop"],
              requires: [KernelRequirement(.tracepointArguments("kfree_skb", atLeast: 4),
                                           "tracepoint skb:kfree_skb with its rx_sk argument (Linux 6.13+)")]),
        .init(.reason, programs: ["inerrs_drop_without_rx_sk"],
              requires: [KernelRequirement(.tracepointArguments("kfree_skb", atLeast: 3),
                                           "tracepoint skb:kfree_skb with its reason argument (Linux 5.17+)")]),
        // Without drop reasons (BPFPrograms/inerrs_legacy.bpf.h): kfree_skb's location for the
        // drops before the socket lookup, fexit on TCP's checks for the ones after it.
        .init(.fexit, programs: ["inerrs_drop_location", "inerrs_check_incoming", "inerrs_check_ack"]
                  + LegacyPrograms.optional.map(\.program),
              requires: [kfreeSkb,
                         KernelRequirement(.hook(.fexit(function: "tcp_validate_incoming"))),
                         KernelRequirement(.hook(.fexit(function: "tcp_ack")))]),
        // Only the drops before the socket lookup: TCP_CSUM and PKT_TOO_SMALL.
        .init(.location, programs: ["inerrs_drop_location"], requires: [kfreeSkb]),
    ])

    static let kfreeSkb = KernelRequirement(.hook(.btfTracepoint(category: "skb", name: "kfree_skb")),
                                            "tracepoint skb:kfree_skb (Linux 5.5+ for BTF tracepoints)")

    static let taskFiles = KernelRequirement(.hook(.iterator(target: "task_file")),
                                             "iterator task_file (Linux 5.8+)")

    /// inerrs_holders gives the socket of an open file to bpf_sk_storage_get; Linux 6.18's verifier
    /// no longer trusts that pointer, which only a load can tell (BPFPrograms/probes.bpf.c).
    static let storageOfFileSocket = KernelRequirement(.programLoads(object: "probes", program: "probe_storage_of_file_socket"),
                                                       "socket-local storage for a file's socket from an iterator (refused by Linux 6.18)")

    /// Who holds each socket: connect()/listen() at their state changes and every socket open at
    /// start-up, in the address index of established and listening sockets; listeners and
    /// start-up sockets also in socket-local storage where tracing programs may use it (5.11+).
    static let owners = JobPart<OwnersVariant>("inerrs.owners", job: "know which process holds each TCP socket", variants: [
        .init(.socketStorage, programs: ["inerrs_state", "inerrs_holders"],
              requires: [.stateChangeTracepoint, taskFiles,
                         KernelRequirement(.function("bpf_sk_storage_tracing_allowed"),
                                           "socket-local storage from tracing programs (Linux 5.11+)"),
                         storageOfFileSocket]),
        .init(.index, programs: ["inerrs_state", "inerrs_holders"], requires: [.stateChangeTracepoint, taskFiles]),
    ])

    /// Which process accept() hands a socket to, at the syscall's exit: the syscalls' own
    /// tracepoints (the program runs only on accepts; every syscall still takes the kernel's slow
    /// path: KernelRequirement.acceptExitTracepoints) else every syscall exit; the fd followed
    /// with plain loads (bpf_rdonly_cast) else with a helper call per field.
    static let accept = JobPart<AcceptExitVariant>("inerrs.accept", job: "see accept() hand sockets to processes", variants: [
        .init(.syscalls, programs: ["inerrs_accept4_exit", "inerrs_accept_exit"],
              requires: KernelRequirement.acceptExitTracepoints + [.readOnlyCast]),
        .init(.sysExit, programs: ["inerrs_sys_exit"], requires: [.sysExitTracepoint, .readOnlyCast]),
        .init(.syscallsCore, programs: ["inerrs_accept4_exit_core", "inerrs_accept_exit_core"],
              requires: KernelRequirement.acceptExitTracepoints),
        .init(.sysExitCore, programs: ["inerrs_sys_exit_core"], requires: [.sysExitTracepoint]),
    ])

    static var parts: [VariantGroup] { [drop.group, owners.group, accept.group] }

    /// The iterator that finds the holders of every socket with a descriptor: run at start-up,
    /// then by `rescan`.
    static let holdersIterator = "inerrs_holders"
}
