import BPFKit

/// The jobs of BPFPrograms/bytes.bpf.c and the programs that do each, best first.
enum BytesProgram {
    static let groups = [
        VariantGroup("bytes.send", job: "count the bytes each send call moved", variants: [
            ProgramVariant("tp_btf", programs: ["bytes_send"],
                           requires: [KernelRequirement(.hook(.btfTracepoint(category: "sock", name: "sock_send_length")),
                                                        "tracepoint sock:sock_send_length (Linux 6.0+)")]),
        ]),
        VariantGroup("bytes.recv", job: "count the bytes each receive call moved", variants: [
            ProgramVariant("tp_btf", programs: ["bytes_recv"],
                           requires: [KernelRequirement(.hook(.btfTracepoint(category: "sock", name: "sock_recv_length")),
                                                        "tracepoint sock:sock_recv_length (Linux 6.0+)")]),
        ]),
    ]
}
