import Foundation
import Glibc
@testable import HTTPResponder

/// A raw TCP client for a server on 127.0.0.1: sends exactly the bytes a test gives it.
struct TestClient {
    let fd: Int32

    /// Connects to 127.0.0.1 (from `source`, another loopback address, when given), or to ::1
    /// with `ipv6`.
    init(port: UInt16, ipv6: Bool = false, source: String? = nil) throws {
        fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ClientError(what: "socket", errno: errno) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { throw ClientError(what: "bind", errno: errno) }
        }
        let result: Int32
        if ipv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            address.sin6_addr = in6addr_loopback
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard result == 0 else { throw ClientError(what: "connect", errno: errno) }
    }

    func close() { Glibc.close(fd) }

    /// Half-closes: no more requests from this client (what `nc -N` does after its input).
    func finishSending() { shutdown(fd, Int32(SHUT_WR)) }

    /// Sends everything; false if the server closed or reset the connection meanwhile.
    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { return false }
            offset += count
        }
        return true
    }

    /// Everything until the server closes (or 10 s pass): the raw bytes as text, "" on a reset.
    func readToEnd() -> String {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            data += buffer[0..<count]
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// One response: its head, then exactly Content-Length body bytes (none when `head` is true).
    func readResponse(headOnly: Bool = false) -> (status: Int, headers: [String: String], body: String)? {
        var data: [UInt8] = []
        var byte: UInt8 = 0
        while !(data.count >= 4 && data.suffix(4) == [13, 10, 13, 10]) {
            guard recv(fd, &byte, 1, 0) == 1 else { return nil }
            data.append(byte)
        }
        let lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() where line.contains(":") {
            let parts = line.split(separator: ":", maxSplits: 1)
            headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        var body: [UInt8] = []
        let length = headOnly ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        var buffer = [UInt8](repeating: 0, count: 65536)
        while body.count < length {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min($0.count, length - body.count), 0) }
            guard count > 0 else { return nil }
            body += buffer[0..<count]
        }
        return (status, headers, String(decoding: body, as: UTF8.self))
    }
}

struct ClientError: Error {
    let what: String
    let errno: Int32
}

/// A server on a free loopback port for one test, stopped by `stop()`.
final class RunningServer: @unchecked Sendable {
    let server: HTTPServer
    var port: UInt16 { server.address.port }

    init(_ host: ListenAddress.Host = .ipv4("127.0.0.1"), limits: HTTPServer.Limits = HTTPServer.Limits(),
         handler: @escaping HTTPServer.Handler = RunningServer.echo) throws {
        server = try HTTPServer(listening: ListenAddress(host: host, port: 0), limits: limits, handler: handler)
        try server.start()
    }

    func stop() { server.stop() }

    /// Answers with the method and path it saw.
    static let echo: HTTPServer.Handler = { request in
        HTTPResponse(text: "\(request.method) \(request.path)\n")
    }
}
