import BPFKit

/// The parts of BPFPrograms/nic.bpf.c and the programs that do each, best first.
enum NicProgram {
    /// How a packet is seen: the typed tracepoint, else the raw one.
    enum Variant: String, Sendable {
        case tpBTF = "tp_btf"
        case rawTP = "raw_tp"
    }

    static let transmit = JobPart<Variant>("nic.tx", job: "count transmitted packets", variants: [
        .init(.tpBTF, programs: ["nic_tx_btf"],
              requires: [KernelRequirement(.hook(.btfTracepoint(category: "net", name: "net_dev_start_xmit")),
                                           "BTF-typed tracepoint net:net_dev_start_xmit (Linux 5.5+)")]),
        .init(.rawTP, programs: ["nic_tx_raw"],
              requires: [KernelRequirement(.hook(.rawTracepoint(category: "net", name: "net_dev_start_xmit")),
                                           "raw tracepoint net:net_dev_start_xmit (Linux 4.17+)")]),
    ])

    static let receive = JobPart<Variant>("nic.rx", job: "count received packets", variants: [
        .init(.tpBTF, programs: ["nic_rx_btf"],
              requires: [KernelRequirement(.hook(.btfTracepoint(category: "net", name: "netif_receive_skb")),
                                           "BTF-typed tracepoint net:netif_receive_skb (Linux 5.5+)")]),
        .init(.rawTP, programs: ["nic_rx_raw"],
              requires: [KernelRequirement(.hook(.rawTracepoint(category: "net", name: "netif_receive_skb")),
                                           "raw tracepoint net:netif_receive_skb (Linux 4.17+)")]),
    ])

    static let parts = [transmit, receive]
}
