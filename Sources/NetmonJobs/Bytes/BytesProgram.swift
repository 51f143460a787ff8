import BPFKit

/// The parts of BPFPrograms/bytes.bpf.c and the programs that do each, best first.
enum BytesProgram {
    /// How the bytes of a call are seen: its tracepoint (with counts kept in socket storage), fexit
    /// on the TCP function, or a kprobe and kretprobe pair on it; `nonblock` for tcp_recvmsg's
    /// signature before Linux 5.19.
    enum Variant: String, Sendable {
        case tpBTF = "tp_btf"
        /// The same tracepoint where the storage iterator is refused: every call goes to the flow maps.
        case tpFlows = "tp_flows"
        /// sendfile through sendmsg: nothing of its own to attach.
        case sendmsg
        case fexit
        case fexitNonblock = "fexit_nblk"
        case kprobe
        case kprobeNonblock = "kprobe_nblk"

        /// Whether its counts live with the socket (the tracepoint variants).
        var keepsCountsWithSocket: Bool { self == .tpBTF }
        /// Whether it remembers calls between entry and return (the kprobe variants).
        var usesKprobes: Bool { self == .kprobe || self == .kprobeNonblock }
    }

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

    static let send = JobPart<Variant>("bytes.send", job: "count the bytes each send call moved", variants: [
        .init(.tpBTF, programs: ["bytes_send"], requires: [tracepoint("sock_send_length")] + socketStorage),
        // The same tracepoint where the storage iterator is refused: every call goes to the
        // flow maps, as on the fexit/kprobe paths.
        .init(.tpFlows, programs: ["bytes_send_flows"], requires: [tracepoint("sock_send_length")]),
        .init(.fexit, programs: ["bytes_send_fexit"],
              requires: [KernelRequirement(.hook(.fexit(function: "tcp_sendmsg")))]),
        .init(.kprobe, programs: ["bytes_send_kprobe", "bytes_send_kretprobe"],
              requires: [KernelRequirement(.hook(.kprobe(function: "tcp_sendmsg")))]),
    ])

    // sendfile() and splice() to a socket: through sendmsg since Linux 6.5 (splice_to_socket),
    // through tcp_sendpage before.
    static let sendpage = JobPart<Variant>("bytes.sendpage", job: "count the bytes each sendfile or splice to a socket moved", variants: [
        .init(.sendmsg, programs: [],
              requires: [KernelRequirement(.function("splice_to_socket"),
                                           "sendfile through sendmsg (splice_to_socket, Linux 6.5+)")]),
        .init(.fexit, programs: ["bytes_sendpage_fexit"],
              requires: [KernelRequirement(.hook(.fexit(function: "tcp_sendpage")))]),
        .init(.kprobe, programs: ["bytes_sendpage_kprobe", "bytes_sendpage_kretprobe"],
              requires: [KernelRequirement(.hook(.kprobe(function: "tcp_sendpage")))]),
    ])

    static let receive = JobPart<Variant>("bytes.recv", job: "count the bytes each receive call moved", variants: [
        .init(.tpBTF, programs: ["bytes_recv"], requires: [tracepoint("sock_recv_length")] + socketStorage),
        // The same tracepoint where the storage iterator is refused: every call goes to the
        // flow maps, as on the fexit/kprobe paths.
        .init(.tpFlows, programs: ["bytes_recv_flows"], requires: [tracepoint("sock_recv_length")]),
        .init(.fexit, programs: ["bytes_recv_fexit"],
              requires: [KernelRequirement(.hook(.fexit(function: "tcp_recvmsg"))), recvmsgArguments(5)]),
        .init(.fexitNonblock, programs: ["bytes_recv_fexit_nonblock"],
              requires: [KernelRequirement(.hook(.fexit(function: "tcp_recvmsg"))), recvmsgArguments(6)]),
        .init(.kprobe, programs: ["bytes_recv_kprobe", "bytes_recv_kretprobe"],
              requires: [KernelRequirement(.hook(.kprobe(function: "tcp_recvmsg"))), recvmsgArguments(5)]),
        .init(.kprobeNonblock, programs: ["bytes_recv_kprobe_nonblock", "bytes_recv_kretprobe"],
              requires: [KernelRequirement(.hook(.kprobe(function: "tcp_recvmsg"))), recvmsgArguments(6)]),
    ])

    static let parts = [send, sendpage, receive]
}
