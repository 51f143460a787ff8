import Foundation
import Glibc
import Testing
@testable import HTTPResponder

@Suite("HTTP server")
struct HTTPServerTests {
    @Test("GET gets the handler's body with its length; HEAD the same head and no body")
    func getAndHead() throws {
        let running = try RunningServer()
        defer { running.stop() }
        let client = try TestClient(port: running.port)
        defer { client.close() }
        client.send("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        let get = try #require(client.readResponse())
        #expect(get.status == 200)
        #expect(get.body == "GET /metrics\n")
        #expect(get.headers["content-length"] == "13")
        #expect(get.headers["date"]?.hasSuffix(" GMT") == true)
        // Same (kept-alive) connection.
        client.send("HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
        let head = try #require(client.readResponse(headOnly: true))
        #expect(head.status == 200)
        #expect(head.headers["content-length"] == "14")
        // Nothing follows the head: the next response starts right after it.
        client.send("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        let last = try #require(client.readResponse())
        #expect(last.body == "GET /\n")
        #expect(last.headers["connection"] == "close")
        #expect(client.readToEnd() == "")
    }

    @Test("[::1] takes IPv6 only; :PORT takes IPv6 and IPv4")
    func addresses() throws {
        let six = try RunningServer(.ipv6("::1"))
        defer { six.stop() }
        let client = try TestClient(port: six.port, ipv6: true)
        defer { client.close() }
        client.send("GET /six HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(client.readResponse()?.body == "GET /six\n")
        #expect(throws: ClientError.self) { try TestClient(port: six.port) }

        let any = try RunningServer(.any)
        defer { any.stop() }
        for ipv6 in [false, true] {
            let client = try TestClient(port: any.port, ipv6: ipv6)
            defer { client.close() }
            client.send("GET /any HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(client.readResponse()?.status == 200)
        }
    }

    @Test("pipelined requests are answered in order")
    func pipelined() throws {
        let running = try RunningServer()
        defer { running.stop() }
        let client = try TestClient(port: running.port)
        defer { client.close() }
        client.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(client.readResponse()?.body == "GET /a\n")
        #expect(client.readResponse()?.body == "GET /b\n")
    }

    @Test("other methods get 405 with Allow")
    func methodNotAllowed() throws {
        let running = try RunningServer()
        defer { running.stop() }
        let client = try TestClient(port: running.port)
        defer { client.close() }
        client.send("DELETE /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
        let response = try #require(client.readResponse())
        #expect(response.status == 405)
        #expect(response.headers["allow"] == "GET, HEAD")
    }

    @Test("malformed requests get 400 (or 505 for other versions), and the connection is closed",
          arguments: [
              ("garbage\r\n\r\n", 400),
              ("GET /metrics\r\n\r\n", 400),
              ("GET /metrics HTTP/1.1\nHost: a\n\n", 400),
              ("GET /metrics HTTP/1.1\r\n\r\n", 400),
              ("GET http://a/metrics HTTP/1.1\r\nHost: a\r\n\r\n", 400),
              ("GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n", 400),
              ("GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
              ("GET /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 400),
              ("GET /metrics HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
              ("GET /metrics HTTP/2.0\r\nHost: a\r\n\r\n", 505),
              ("\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\r\n\r\n", 400),
          ])
    func malformed(request: String, status: Int) throws {
        let running = try RunningServer()
        defer { running.stop() }
        let client = try TestClient(port: running.port)
        defer { client.close() }
        client.send(request)
        let text = client.readToEnd()
        #expect(text.hasPrefix("HTTP/1.1 \(status) "), "\(text)")
        #expect(text.contains("Connection: close"))
        // And the server goes on serving.
        let next = try TestClient(port: running.port)
        defer { next.close() }
        next.send("GET /ok HTTP/1.0\r\n\r\n")
        #expect(next.readResponse()?.body == "GET /ok\n")
    }

    @Test("a 1 MB header gets 431 (or a reset) and costs the server nothing lasting")
    func oversizedHeader() throws {
        let running = try RunningServer()
        defer { running.stop() }
        let client = try TestClient(port: running.port)
        defer { client.close() }
        let big = "GET /metrics HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "a", count: 1 << 20) + "\r\n\r\n"
        client.send(big)  // the server stops reading after its limit, so this may fail part-way
        let text = client.readToEnd()
        #expect(text.isEmpty || text.hasPrefix("HTTP/1.1 431 "), "\(text.prefix(100))")
        let next = try TestClient(port: running.port)
        defer { next.close() }
        next.send("GET /ok HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(next.readResponse()?.status == 200)
    }

    @Test("a client that connects and sends nothing, or stops half-way, is closed at the request timeout")
    func silentAndSlowClients() throws {
        let running = try RunningServer(limits: HTTPServer.Limits(requestTimeout: 0.3))
        defer { running.stop() }
        let silent = try TestClient(port: running.port)
        defer { silent.close() }
        let slow = try TestClient(port: running.port)
        defer { slow.close() }
        slow.send("GET /metrics HTTP/1.1\r\nHo")
        // Meanwhile others are served.
        let other = try TestClient(port: running.port)
        defer { other.close() }
        other.send("GET /ok HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(other.readResponse()?.status == 200)
        // Both are closed by the server (readToEnd returns at EOF; its receive timeout is 10 s).
        #expect(silent.readToEnd() == "")
        #expect(slow.readToEnd().hasPrefix("HTTP/1.1 408 "))
    }

    @Test("50 concurrent scrapes are all answered")
    func concurrentScrapes() throws {
        let body = String(repeating: "netmon_x_total 1\n", count: 20_000)  // 340 KB: many partial writes
        let running = try RunningServer { _ in HTTPResponse(text: body) }
        defer { running.stop() }
        let clients = try (0..<50).map { _ in try TestClient(port: running.port) }
        defer { clients.forEach { $0.close() } }
        for client in clients { client.send("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n") }
        let results = Array(repeating: Int?.none, count: clients.count)
        let lengths = LockedArray(results)
        DispatchQueue.concurrentPerform(iterations: clients.count) { index in
            lengths.set(index, clients[index].readResponse()?.body.utf8.count)
        }
        #expect(lengths.values.allSatisfy { $0 == body.utf8.count })
    }

    @Test("when full, a newcomer takes the slot of the oldest idle connection")
    func fullServerClosesOldestIdle() throws {
        let running = try RunningServer(limits: HTTPServer.Limits(maxConnections: 2))
        defer { running.stop() }
        let first = try TestClient(port: running.port), second = try TestClient(port: running.port)
        defer { first.close(); second.close() }
        first.send("GET /one HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(first.readResponse()?.status == 200)  // now both are surely accepted
        second.send("GET /two HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(second.readResponse()?.status == 200)
        let third = try TestClient(port: running.port)
        defer { third.close() }
        third.send("GET /three HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(third.readResponse()?.body == "GET /three\n")
        #expect(first.readToEnd() == "", "the oldest idle one was closed")
        second.send("GET /again HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(second.readResponse()?.body == "GET /again\n")
    }

    @Test("when every connection is being answered, a newcomer gets 503")
    func fullOfResponses() throws {
        let body = String(repeating: "x", count: 8 << 20)  // more than the socket buffers take
        let running = try RunningServer(limits: HTTPServer.Limits(maxConnections: 2)) { _ in HTTPResponse(text: body) }
        defer { running.stop() }
        let readers = try (0..<2).map { _ in try TestClient(port: running.port) }
        defer { readers.forEach { $0.close() } }
        for reader in readers { reader.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n") }  // and never read
        usleep(300_000)
        let third = try TestClient(port: running.port)
        defer { third.close() }
        #expect(third.readToEnd().hasPrefix("HTTP/1.1 503 "))
    }

    @Test("100 silent clients: a scrape is still answered within a second")
    func silentClientsDoNotStopScrapes() throws {
        let running = try RunningServer()
        defer { running.stop() }
        let silent = try (0..<100).map { _ in try TestClient(port: running.port) }
        defer { silent.forEach { $0.close() } }
        usleep(100_000)
        let started = Date()
        let scrape = try TestClient(port: running.port)
        defer { scrape.close() }
        scrape.send("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(scrape.readResponse()?.body == "GET /metrics\n")
        #expect(Date().timeIntervalSince(started) < 1)
    }

    @Test("2,000 connections: a scrape is still answered within a second")
    func floodDoesNotStopScrapes() throws {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < 4096 {
            limit.rlim_cur = min(limit.rlim_max, 8192)
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        try #require(limit.rlim_cur >= 2100, "the test needs 2,100 descriptors")
        let running = try RunningServer()
        defer { running.stop() }
        let flood = try (0..<2000).map { _ in try TestClient(port: running.port) }
        defer { flood.forEach { $0.close() } }
        let started = Date()
        let scrape = try TestClient(port: running.port)
        defer { scrape.close() }
        scrape.send("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(scrape.readResponse()?.body == "GET /metrics\n")
        #expect(Date().timeIntervalSince(started) < 1)
    }

    @Test("a flood from one address does not close another address's kept-alive connection")
    func perAddressLimit() throws {
        let running = try RunningServer()
        defer { running.stop() }
        let prometheus = try TestClient(port: running.port, source: "127.0.0.2")
        defer { prometheus.close() }
        prometheus.send("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(prometheus.readResponse()?.status == 200)
        let flood = try (0..<200).map { _ in try TestClient(port: running.port) }
        defer { flood.forEach { $0.close() } }
        usleep(100_000)
        prometheus.send("GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(prometheus.readResponse()?.body == "GET /metrics\n")
    }

    @Test("a complete request followed by a half-close is answered (50 times each for HTTP/1.0 and 1.1)",
          arguments: ["GET /h HTTP/1.0\r\n\r\n", "GET /h HTTP/1.1\r\nHost: a\r\n\r\n"])
    func halfClose(request: String) throws {
        let running = try RunningServer()
        defer { running.stop() }
        var answered = 0
        for _ in 0..<50 {
            let client = try TestClient(port: running.port)
            defer { client.close() }
            client.send(request)
            client.finishSending()
            let text = client.readToEnd()
            if text.hasPrefix("HTTP/1.1 200 "), text.hasSuffix("\r\n\r\nGET /h\n") { answered += 1 }
        }
        #expect(answered == 50)
        // Two pipelined requests then the half-close: both answered (HTTP/1.0 closes after one).
        let client = try TestClient(port: running.port)
        defer { client.close() }
        client.send(request + request)
        client.finishSending()
        #expect(client.readResponse()?.body == "GET /h\n")
        if request.contains("HTTP/1.1") { #expect(client.readResponse()?.body == "GET /h\n") }
        #expect(client.readToEnd() == "")
        // Half a request then the half-close: closed without an answer.
        let partial = try TestClient(port: running.port)
        defer { partial.close() }
        partial.send("GET /h HTTP/1.1\r\nHo")
        partial.finishSending()
        #expect(partial.readToEnd() == "")
    }
}

final class LockedArray: @unchecked Sendable {
    private var storage: [Int?]
    private let lock = NSLock()
    init(_ values: [Int?]) { storage = values }
    func set(_ index: Int, _ value: Int?) { lock.withLock { storage[index] = value } }
    var values: [Int?] { lock.withLock { storage } }
}
