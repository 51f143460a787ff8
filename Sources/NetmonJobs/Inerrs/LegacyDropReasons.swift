import CNetmonBPF

extension DropReasons {
    /// The reasons of the legacy programs (BPFPrograms/inerrs_legacy.bpf.h, for kernels without
    /// enum skb_drop_reason): netmon's own numbers from netmon/inerrs.h, with the names the newer
    /// kernels give the same checks, so that they are sorted and printed exactly like those.
    static let legacy = DropReasons(enumerators: [
        (INERRS_LEGACY_NOT_SPECIFIED, "NOT_SPECIFIED"),
        (INERRS_LEGACY_TCP_CSUM, "TCP_CSUM"),
        (INERRS_LEGACY_PKT_TOO_SMALL, "PKT_TOO_SMALL"),
        (INERRS_LEGACY_TCP_RFC7323_PAWS, "TCP_RFC7323_PAWS"),
        (INERRS_LEGACY_TCP_OLD_SEQUENCE, "TCP_OLD_SEQUENCE"),
        (INERRS_LEGACY_TCP_INVALID_SEQUENCE, "TCP_INVALID_SEQUENCE"),
        (INERRS_LEGACY_TCP_RESET, "TCP_RESET"),
        (INERRS_LEGACY_TCP_INVALID_SYN, "TCP_INVALID_SYN"),
        (INERRS_LEGACY_TCP_TOO_OLD_ACK, "TCP_TOO_OLD_ACK"),
        (INERRS_LEGACY_TCP_ACK_UNSENT_DATA, "TCP_ACK_UNSENT_DATA"),
        (INERRS_LEGACY_NO_SOCKET, "NO_SOCKET"),
        (INERRS_LEGACY_TCP_MD5NOTFOUND, "TCP_MD5NOTFOUND"),
        (INERRS_LEGACY_TCP_MD5UNEXPECTED, "TCP_MD5UNEXPECTED"),
        (INERRS_LEGACY_TCP_MD5FAILURE, "TCP_MD5FAILURE"),
    ].map { reason, name in (name: prefix + name, value: Int64(reason.rawValue)) })
}
