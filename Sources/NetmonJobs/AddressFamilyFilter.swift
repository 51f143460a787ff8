/// Which address family a job reports (`-4`, `-6`, or both); IPv4-mapped IPv6 counts as IPv4.
public enum AddressFamilyFilter: Sendable, Equatable {
    case both, ipv4, ipv6

    /// The shared headers' `ip_version`/`family` byte: 0 for both, else 4 or 6.
    public var ipVersion: UInt8 {
        switch self {
        case .both: 0
        case .ipv4: 4
        case .ipv6: 6
        }
    }
}
