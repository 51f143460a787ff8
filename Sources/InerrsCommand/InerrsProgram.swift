import BPFKit

/// The jobs of BPFPrograms/inerrs.bpf.c and the programs that do each, best first.
enum InerrsProgram {
    /// skb:kfree_skb gained the drop reason in 5.17 and the socket the segment was delivered to
    /// (rx_sk) in 6.13; distributions backport, so the arguments are read from the kernel's BTF.
    static let drop = VariantGroup("inerrs.drop", job: "see TCP segments the kernel drops, with its reason", variants: [
        ProgramVariant("rx_sk", programs: ["inerrs_drop"],
                       requires: [KernelRequirement(.tracepointArguments("kfree_skb", atLeast: 4),
                                                    "tracepoint skb:kfree_skb with its rx_sk argument (Linux 6.13+)")]),
        ProgramVariant("reason", programs: ["inerrs_drop_without_rx_sk"],
                       requires: [KernelRequirement(.tracepointArguments("kfree_skb", atLeast: 3),
                                                    "tracepoint skb:kfree_skb with its reason argument (Linux 5.17+)")]),
        // Without drop reasons (BPFPrograms/inerrs_legacy.bpf.h): kfree_skb's location for the
        // drops before the socket lookup, fexit on TCP's checks for the ones after it.
        ProgramVariant("fexit", programs: ["inerrs_drop_location", "inerrs_check_incoming", "inerrs_check_ack"]
                           + LegacyPrograms.optional.map(\.program),
                       requires: [kfreeSkb,
                                  KernelRequirement(.hook(.fexit(function: "tcp_validate_incoming"))),
                                  KernelRequirement(.hook(.fexit(function: "tcp_ack")))]),
        // Only the drops before the socket lookup: TCP_CSUM and PKT_TOO_SMALL.
        ProgramVariant("location", programs: ["inerrs_drop_location"], requires: [kfreeSkb]),
    ])

    static let kfreeSkb = KernelRequirement(.hook(.btfTracepoint(category: "skb", name: "kfree_skb")),
                                            "tracepoint skb:kfree_skb (Linux 5.5+ for BTF tracepoints)")

    /// The variants that report enum inerrs_legacy_reason numbers instead of the kernel's reasons.
    static let legacyVariants: Set<String> = ["fexit", "location"]
}
