import Glibc

/// Opens the listening TCP socket of a `ListenAddress`.
enum ListeningSocket {
    static func open(_ requested: ListenAddress) throws(HTTPServerError) -> (fd: Int32, address: ListenAddress) {
        switch requested.host {
        case .ipv4(let text):
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = requested.port.bigEndian
            inet_pton(AF_INET, text, &address.sin_addr)
            return try bind(family: AF_INET, address, requested)
        case .ipv6(let text):
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = requested.port.bigEndian
            inet_pton(AF_INET6, text, &address.sin6_addr)
            return try bind(family: AF_INET6, address, requested, v6Only: true)
        case .any:
            // [::] with IPV6_V6ONLY off takes IPv4 too; a kernel without IPv6 gets 0.0.0.0.
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = requested.port.bigEndian
            address.sin6_addr = in6addr_any
            do {
                return try bind(family: AF_INET6, address, requested, v6Only: false)
            } catch where error.errno == EAFNOSUPPORT {
                var fallback = sockaddr_in()
                fallback.sin_family = sa_family_t(AF_INET)
                fallback.sin_port = requested.port.bigEndian
                return try bind(family: AF_INET, fallback, requested)
            }
        }
    }

    private static func bind<Address>(family: Int32, _ address: Address, _ requested: ListenAddress,
                                      v6Only: Bool = false) throws(HTTPServerError) -> (fd: Int32, address: ListenAddress) {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HTTPServerError("cannot create a socket for \(requested)", errno: errno) }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 {
            var only: Int32 = v6Only ? 1 : 0
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &only, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = address
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<Address>.size))
            }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let error = errno
            close(fd)
            throw HTTPServerError("cannot listen on \(requested)", errno: error)
        }
        var actual = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        // sin_port and sin6_port sit at the same offset.
        return (fd, ListenAddress(host: requested.host, port: UInt16(bigEndian: actual.sin6_port)))
    }
}
