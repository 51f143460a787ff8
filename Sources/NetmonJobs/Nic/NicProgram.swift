import BPFKit

/// The jobs of BPFPrograms/nic.bpf.c and the programs that do each, best first.
enum NicProgram {
    static let groups = [
        VariantGroup("nic.tx", job: "count transmitted packets", variants: [
            ProgramVariant("tp_btf", programs: ["nic_tx_btf"],
                           requires: [KernelRequirement(.hook(.btfTracepoint(category: "net", name: "net_dev_start_xmit")),
                                                        "BTF-typed tracepoint net:net_dev_start_xmit (Linux 5.5+)")]),
            ProgramVariant("raw_tp", programs: ["nic_tx_raw"],
                           requires: [KernelRequirement(.hook(.rawTracepoint(category: "net", name: "net_dev_start_xmit")),
                                                        "raw tracepoint net:net_dev_start_xmit (Linux 4.17+)")]),
        ]),
        VariantGroup("nic.rx", job: "count received packets", variants: [
            ProgramVariant("tp_btf", programs: ["nic_rx_btf"],
                           requires: [KernelRequirement(.hook(.btfTracepoint(category: "net", name: "netif_receive_skb")),
                                                        "BTF-typed tracepoint net:netif_receive_skb (Linux 5.5+)")]),
            ProgramVariant("raw_tp", programs: ["nic_rx_raw"],
                           requires: [KernelRequirement(.hook(.rawTracepoint(category: "net", name: "netif_receive_skb")),
                                                        "raw tracepoint net:netif_receive_skb (Linux 4.17+)")]),
        ]),
    ]
}
