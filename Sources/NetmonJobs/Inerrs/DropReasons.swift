/// The running kernel's drop reasons (`enum skb_drop_reason`, read from its BTF at start-up: the
/// numbers differ between kernels) and which of them inerrs reports.
struct DropReasons: Sendable {
    static let prefix = "SKB_DROP_REASON_"

    /// Which list a reason belongs to.
    enum Category: Equatable, Sendable {
        /// The segment itself was bad or unacceptable: always reported.
        case badSegment
        /// A resource or socket-lifecycle drop: reported with --all.
        case resource
        /// Not a TCP receive check (IP, UDP, devices, qdiscs, …), or no reason at all: never.
        case other
    }

    /// Reason number → name with the SKB_DROP_REASON_ prefix stripped.
    let names: [UInt32: String]

    init(enumerators: [(name: String, value: Int64)]) {
        var names: [UInt32: String] = [:]
        for enumerator in enumerators where enumerator.name.hasPrefix(Self.prefix) {
            guard let value = UInt32(exactly: enumerator.value) else { continue }
            let name = String(enumerator.name.dropFirst(Self.prefix.count))
            if name == "MAX" || name == "SUBSYS_MASK" { continue }
            names[value] = name
        }
        self.names = names
    }

    /// The name printed for a reason: the kernel's, or the number for one it does not name.
    func name(of reason: UInt32) -> String {
        names[reason] ?? String(reason)
    }

    /// The reason numbers to report, sorted.
    func selected(all: Bool) -> [UInt32] {
        names.filter { _, name in
            let category = Self.category(of: name)
            return category == .badSegment || (all && category == .resource)
        }.keys.sorted()
    }

    // The patterns below sort every TCP reason a kernel has, so a reason a newer kernel adds falls
    // into a list without a netmon change: a TCP_ reason that is not recognisably about a bad
    // segment is shown with --all rather than never.
    static let badSegmentNames: Set<String> = [
        "TCP_CSUM", "PKT_TOO_SMALL", "TCP_FLAGS", "TCP_INVALID_SYN", "TCP_MINTTL", "TCP_OVERWINDOW",
    ]
    static let badSegmentPrefixes = [
        "TCP_MD5", "TCP_AO", "TCP_AUTH", "TCP_RFC7323_", "TCP_INVALID_", "TCP_OLD_SEQUENCE",
        "TCP_OLD_ACK", "TCP_TOO_OLD_ACK", "TCP_ACK_",
    ]
    static let badSegmentWords = ["CSUM", "INVALID", "PAWS"]
    static let resourceNames: Set<String> = [
        "NO_SOCKET", "PROTO_MEM", "NOMEM", "PFMEMALLOC", "XFRM_POLICY",
    ]
    static let resourcePrefixes = ["SOCKET_", "TCP_"]

    static func category(of name: String) -> Category {
        if badSegmentNames.contains(name) || badSegmentPrefixes.contains(where: name.hasPrefix) {
            return .badSegment
        }
        if name.hasPrefix("TCP_"), badSegmentWords.contains(where: name.contains) {
            return .badSegment
        }
        if resourceNames.contains(name) || resourcePrefixes.contains(where: name.hasPrefix) {
            return .resource
        }
        return .other
    }
}
