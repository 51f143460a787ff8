import BPFKit

/// The jobs of BPFPrograms/bytes.bpf.c and the programs that do each, best first.
enum BytesProgram {
    /// What the tracepoint variants need besides their tracepoint: counts kept with each socket
    /// (socket storage from tracing programs, Linux 5.11+), handed over when a socket is destroyed,
    /// and read by an iterator over the storage (Linux 5.9+).
    static let socketStorage = [
        KernelRequirement(.function("bpf_sk_storage_tracing_allowed"), "socket storage from tracing programs (Linux 5.11+)"),
        KernelRequirement(.hook(.btfTracepoint(category: "tcp", name: "tcp_destroy_sock")), "tracepoint tcp:tcp_destroy_sock (Linux 5.3+)"),
        KernelRequirement(.hook(.iterator(target: "bpf_sk_storage_map")), "socket storage iterator (Linux 5.9+; refused by Linux 6.18)"),
    ]

    /// The programs that serve the socket storage; loaded when a tracepoint variant is chosen.
    static let socketStoragePrograms = ["bytes_socket_closed", "bytes_sockets_read"]

    /// tcp_recvmsg lost its `nonblock` argument in Linux 5.19; the programs that read `flags` must
    /// know where it is.
    static func recvmsgArguments(_ count: Int) -> KernelRequirement {
        KernelRequirement(.functionArguments("tcp_recvmsg", count: count),
                          "tcp_recvmsg with \(count) arguments (\(count == 5 ? "Linux 5.19+" : "before Linux 5.19"))")
    }

    static func tracepoint(_ name: String) -> KernelRequirement {
        KernelRequirement(.hook(.btfTracepoint(category: "sock", name: name)), "tracepoint sock:\(name) (Linux 6.3+)")
    }

    static let groups = [
        VariantGroup("bytes.send", job: "count the bytes each send call moved", variants: [
            ProgramVariant("tp_btf", programs: ["bytes_send"],
                           requires: [tracepoint("sock_send_length")] + socketStorage),
            // The same tracepoint where the storage iterator is refused: every call goes to the
            // flow maps, as on the fexit/kprobe paths.
            ProgramVariant("tp_flows", programs: ["bytes_send_flows"], requires: [tracepoint("sock_send_length")]),
            ProgramVariant("fexit", programs: ["bytes_send_fexit"],
                           requires: [KernelRequirement(.hook(.fexit(function: "tcp_sendmsg")))]),
            ProgramVariant("kprobe", programs: ["bytes_send_kprobe", "bytes_send_kretprobe"],
                           requires: [KernelRequirement(.hook(.kprobe(function: "tcp_sendmsg")))]),
        ]),
        // sendfile() and splice() to a socket: through sendmsg since Linux 6.5 (splice_to_socket),
        // through tcp_sendpage before.
        VariantGroup("bytes.sendpage", job: "count the bytes each sendfile or splice to a socket moved", variants: [
            ProgramVariant("sendmsg", programs: [],
                           requires: [KernelRequirement(.function("splice_to_socket"),
                                                        "sendfile through sendmsg (splice_to_socket, Linux 6.5+)")]),
            ProgramVariant("fexit", programs: ["bytes_sendpage_fexit"],
                           requires: [KernelRequirement(.hook(.fexit(function: "tcp_sendpage")))]),
            ProgramVariant("kprobe", programs: ["bytes_sendpage_kprobe", "bytes_sendpage_kretprobe"],
                           requires: [KernelRequirement(.hook(.kprobe(function: "tcp_sendpage")))]),
        ]),
        VariantGroup("bytes.recv", job: "count the bytes each receive call moved", variants: [
            ProgramVariant("tp_btf", programs: ["bytes_recv"],
                           requires: [tracepoint("sock_recv_length")] + socketStorage),
            // The same tracepoint where the storage iterator is refused: every call goes to the
            // flow maps, as on the fexit/kprobe paths.
            ProgramVariant("tp_flows", programs: ["bytes_recv_flows"], requires: [tracepoint("sock_recv_length")]),
            ProgramVariant("fexit", programs: ["bytes_recv_fexit"],
                           requires: [KernelRequirement(.hook(.fexit(function: "tcp_recvmsg"))), recvmsgArguments(5)]),
            ProgramVariant("fexit_nblk", programs: ["bytes_recv_fexit_nonblock"],
                           requires: [KernelRequirement(.hook(.fexit(function: "tcp_recvmsg"))), recvmsgArguments(6)]),
            ProgramVariant("kprobe", programs: ["bytes_recv_kprobe", "bytes_recv_kretprobe"],
                           requires: [KernelRequirement(.hook(.kprobe(function: "tcp_recvmsg"))), recvmsgArguments(5)]),
            ProgramVariant("kprobe_nblk", programs: ["bytes_recv_kprobe_nonblock", "bytes_recv_kretprobe"],
                           requires: [KernelRequirement(.hook(.kprobe(function: "tcp_recvmsg"))), recvmsgArguments(6)]),
        ]),
    ]
}
