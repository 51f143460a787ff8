import Glibc

/// Where a server listens: `ADDR:PORT` (IPv4), `[ADDR]:PORT` (IPv6) or `:PORT` (every address,
/// IPv6 and IPv4 alike). Port 0 asks the kernel for a free port.
public struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
    public enum Host: Equatable, Sendable {
        case any
        case ipv4(String)
        case ipv6(String)
    }

    public let host: Host
    public let port: UInt16

    public init(host: Host, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses the forms above; the error says what is wrong in words a user can act on.
    public init(parsing text: String) throws(ListenAddressError) {
        guard let colon = text.lastIndex(of: ":") else {
            throw ListenAddressError("'\(text)' has no port: use ADDR:PORT, [IPv6]:PORT or :PORT")
        }
        let hostText = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = UInt16(portText) else {
            throw ListenAddressError("invalid port '\(portText)' in '\(text)': a number from 0 to 65535")
        }
        if hostText.isEmpty {
            host = .any
        } else if hostText.hasPrefix("[") {
            guard hostText.hasSuffix("]"), hostText.count > 2 else {
                throw ListenAddressError("invalid IPv6 address '\(hostText)' in '\(text)'")
            }
            let inner = String(hostText.dropFirst().dropLast())
            var address = in6_addr()
            guard inet_pton(AF_INET6, inner, &address) == 1 else {
                throw ListenAddressError("invalid IPv6 address '\(inner)' in '\(text)'")
            }
            host = .ipv6(inner)
        } else {
            var address = in_addr()
            guard inet_pton(AF_INET, hostText, &address) == 1 else {
                throw ListenAddressError(hostText.contains(":")
                    ? "an IPv6 address needs brackets: '[\(hostText)]:\(port)'"
                    : "invalid IPv4 address '\(hostText)' in '\(text)' (host names are not looked up)")
            }
            host = .ipv4(hostText)
        }
        self.port = port
    }

    public var description: String {
        switch host {
        case .any: ":\(port)"
        case .ipv4(let address): "\(address):\(port)"
        case .ipv6(let address): "[\(address)]:\(port)"
        }
    }
}

public struct ListenAddressError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
