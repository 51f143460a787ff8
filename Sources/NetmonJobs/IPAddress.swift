import Glibc

/// An address as netmon reports it. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, an AF_INET6
/// socket talking to an IPv4 peer) is an IPv4 address here: it prints dotted, has version 4, and
/// `-4` includes it.
public enum IPAddress: Sendable, Equatable, CustomStringConvertible {
    case v4(UInt8, UInt8, UInt8, UInt8)
    case v6([UInt8])

    /// From the 16 address bytes the BPF programs fill: for AF_INET the first 4 bytes are the
    /// address (network order); for AF_INET6 all 16.
    public init(family: Int, bytes: UnsafeRawBufferPointer) {
        if family == Int(AF_INET) {
            self = .v4(bytes[0], bytes[1], bytes[2], bytes[3])
        } else if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            self = .v4(bytes[12], bytes[13], bytes[14], bytes[15])
        } else {
            self = .v6(Array(bytes[0..<16]))
        }
    }

    /// From a 16-byte tuple field of an imported C struct (`__u8 addr[16]`).
    public init<T>(family: Int, tuple: T) {
        var copy = tuple
        self = withUnsafeBytes(of: &copy) { IPAddress(family: family, bytes: $0) }
    }

    public var version: Int {
        if case .v4 = self { return 4 }
        return 6
    }

    /// Dotted quad, or RFC 5952 text (lower case, the longest run of two or more zero groups as `::`).
    public var description: String {
        switch self {
        case let .v4(a, b, c, d):
            return "\(a).\(b).\(c).\(d)"
        case let .v6(bytes):
            let groups = stride(from: 0, to: 16, by: 2).map { UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]) }
            // The longest run of zero groups (the first, on a tie), compressed only if 2 or longer.
            var best = (start: -1, length: 0)
            var index = 0
            while index < 8 {
                guard groups[index] == 0 else { index += 1; continue }
                let start = index
                while index < 8, groups[index] == 0 { index += 1 }
                if index - start > best.length { best = (start, index - start) }
            }
            let hex = groups.map { String($0, radix: 16) }
            guard best.length >= 2 else { return hex.joined(separator: ":") }
            let head = hex[..<best.start].joined(separator: ":")
            let tail = hex[(best.start + best.length)...].joined(separator: ":")
            return head + "::" + tail
        }
    }
}
