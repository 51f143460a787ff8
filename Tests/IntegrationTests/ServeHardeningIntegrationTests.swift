import Foundation
import Testing

/// `netmon serve` against what a hostile local user or client can do: processes with names that
/// break labels or claim the overflow label, more names than the cap, idle and half-closing
/// clients, a renamed interface.
@Suite("serve integration: hostile users and clients", .serialized, .connExclusive,
       .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct ServeHardeningIntegrationTests {
    static let names = Counter()

    /// Python that makes one TCP connection to 127.0.0.1:`port` from a child process named each
    /// of `names` (Python bytes literals).
    static func connections(port: Int, names: [String]) -> String {
        """
        /usr/bin/python3 -c '
        import ctypes, os, socket
        s = socket.socket()
        s.bind(("127.0.0.1", \(port)))
        s.listen(512)
        for name in [\(names.joined(separator: ", "))]:
            if os.fork() == 0:
                ctypes.CDLL(None).prctl(15, name, 0, 0, 0)
                socket.create_connection(("127.0.0.1", \(port))).close()
                os._exit(0)
            os.wait()
        '
        """
    }

    @Test("hostile process names: promtool is clean, names show escaped; other is a name; idle names expire after --comm-ttl")
    func hostileNames() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        // The 300 forks take several seconds; the TTL is longer than that.
        let serve = try ServeUnderTest(["--comm-ttl", "20"], namespace: pair.a)
        defer { serve.netmon.stop() }
        let tag = "\(getpid() % 1000)h\(Self.names.next())"
        let hostile = ["b\"crlf\\r\\nx\"", "b\"other\"", "b\"q\\\"uo\\\\te\"", "b\"esc\\x1b[2J\"", "b\"bad\\xff\\xfe\""]
        try sh(pair.inA(Self.connections(port: 7000 + Int.random(in: 0..<1000), names: hostile)))
        try sh(pair.inA(Self.connections(port: 7000 + Int.random(in: 0..<1000), names: (0..<300).map { "b\"n\($0)\(tag)\"" })))
        var text = ""
        _ = try eventually(timeout: 5) {
            text = try serve.scrape()
            return text.contains("comm=\"crlf??x\"")
        }
        let path = "/tmp/serve-hostile-\(getpid()).txt"
        defer { unlink(path) }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let lint = try sh("promtool check metrics < \(path) 2>&1; echo status=$?")
        #expect(lint == "status=0\n", "\(lint)")
        let connect = "netmon_tcp_connections_total{direction=\"connect\",family=\"4\",comm="
        for shown in ["\"crlf??x\"", "\"other\"", "\"q\\\"uo\\\\te\"", "\"esc?[2J\"", "\"bad??\""] {
            #expect(text.contains(connect + shown + "} 1\n"), "\(shown)")
        }
        #expect(!text.contains("\r"), "no raw CR in the page")
        let samples = Samples(text)
        let overflow = samples[connect + "\"(other processes)\"}"] ?? 0
        let named = samples.values.keys.filter { $0.hasPrefix(connect) && $0.contains(tag) }.count
        #expect(overflow >= 1 && Double(named) + overflow >= 300, "\(named) named, \(overflow) folded")

        // Nothing of these names moves for longer than the TTL: their series go, their slots free.
        var later = try serve.samples()
        _ = try eventually(timeout: 30) {
            later = try serve.samples()
            return later.values.keys.filter { $0.contains(tag) || $0.contains("crlf") }.isEmpty
        }
        #expect(later.values.keys.filter { $0.contains(tag) || $0.contains("crlf") }.isEmpty)
        let fresh = "f\(tag)"
        try sh(pair.inA(Self.connections(port: 7000 + Int.random(in: 0..<1000), names: ["b\"\(fresh)\""])))
        #expect(try eventually(timeout: 5) { try serve.samples()[connect + "\"\(fresh)\"}"] == 1 },
                "a new name gets a series of its own once the idle ones expired")
    }

    @Test("100 silent clients and then 2,000 connections: a scrape answers within a second each time; a half-closed request is answered")
    func idleClientsAndHalfClose() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        defer { serve.netmon.stop() }
        let output = try sh(pair.inA("""
            /usr/bin/python3 -c '
            import resource, socket, time
            resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
            port = \(serve.port)
            def scrape():
                started = time.monotonic()
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                s.sendall(b"GET /metrics HTTP/1.1\\r\\nHost: a\\r\\nConnection: close\\r\\n\\r\\n")
                data = b""
                try:
                    while True:
                        chunk = s.recv(65536)
                        if not chunk: break
                        data += chunk
                except OSError:
                    pass
                s.close()
                return data.startswith(b"HTTP/1.1 200") and b"netmon_build_info" in data and time.monotonic() - started < 1
            silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]
            time.sleep(0.2)
            print("after 100 silent", scrape())
            flood = [socket.create_connection(("127.0.0.1", port)) for _ in range(2000)]
            time.sleep(0.2)
            print("after 2000", scrape())
            answered = 0
            for version in (b"HTTP/1.0\\r\\n", b"HTTP/1.1\\r\\nHost: a\\r\\n"):
                for _ in range(50):
                    s = socket.create_connection(("127.0.0.1", port), timeout=5)
                    s.sendall(b"GET /metrics " + version + b"\\r\\n")
                    s.shutdown(socket.SHUT_WR)
                    data = b""
                    try:
                        while True:
                            chunk = s.recv(65536)
                            if not chunk: break
                            data += chunk
                    except OSError:
                        pass
                    s.close()
                    answered += data.startswith(b"HTTP/1.1 200") and b"netmon_build_info" in data
            print("half-closed answered", answered)
            '
            """))
        #expect(output == "after 100 silent True\nafter 2000 True\nhalf-closed answered 100\n", "\(output)")
    }

    @Test("a renamed interface is reported under its new name, by serve and by nic")
    func renamedInterface() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        defer { serve.netmon.stop() }
        let nic = try NetmonProcess.start(["nic", "-n", "va", "--json", "-i", "0.2"], namespace: pair.a)
        defer { nic.stop() }
        #expect(try serve.samples().series("netmon_nic_queue_bytes_total").contains { $0.contains("device=\"va\"") })
        try sh(pair.inA("sh -c 'ip link set va down && ip link set va name vrenamed && ip link set vrenamed up'"))
        usleep(600_000)
        let series = try serve.samples().series("netmon_nic_queue_bytes_total")
        #expect(series.contains { $0.contains("device=\"vrenamed\"") } && !series.contains { $0.contains("device=\"va\"") }, "\(series)")
        nic.waitForLines(nic.stdoutLines.count + 2)
        #expect(nic.process.isRunning, "\(nic.stderr)")
        #expect(nic.stdoutLines.last?.contains("\"interface\":\"vrenamed\"") == true, "\(nic.stdoutLines.last ?? "")")
    }
}
