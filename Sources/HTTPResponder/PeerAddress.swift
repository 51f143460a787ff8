import Glibc

/// Where a client connects from, for the per-address connection limit: an IPv4 address (also
/// when it came IPv4-mapped over an IPv6 socket), or an IPv6 /64 prefix, since one host commonly
/// has a whole /64 to pick addresses from.
struct PeerAddress: Hashable {
    let bytes: [UInt8]

    init(_ storage: sockaddr_storage) {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            bytes = withUnsafeBytes(of: &storage) { raw in
                let address = raw.load(as: sockaddr_in.self).sin_addr
                return withUnsafeBytes(of: address) { Array($0) }
            }
        case AF_INET6:
            let all = withUnsafeBytes(of: &storage) { raw in
                withUnsafeBytes(of: raw.load(as: sockaddr_in6.self).sin6_addr) { Array($0) }
            }
            let mapped = all[0..<10].allSatisfy { $0 == 0 } && all[10] == 0xff && all[11] == 0xff
            bytes = mapped ? Array(all[12...]) : Array(all[0..<8])
        default:
            bytes = []
        }
    }
}
