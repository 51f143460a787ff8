import Foundation
import Testing

/// `netmon serve`'s conn, bytes and inerrs metrics against what the test itself did: connections
/// and bytes of uniquely named processes, and crafted bad segments. These jobs watch every network
/// namespace, so other traffic of the machine shows up too; the unique process names (and, for
/// inerrs, the deltas) keep the checks to the test's own.
@Suite("serve integration: sockets", .serialized, .connExclusive, .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct ServeSocketsIntegrationTests {
    static let names = Counter()

    /// A Python server named `comm` on `address`:`port` that takes `count` connections one after
    /// the other, reads each to its end, answers with `reply` bytes and closes.
    static func server(comm: String, family: String, address: String, port: Int, count: Int, reply: Int) -> String {
        """
        /usr/bin/python3 -c '
        import ctypes, socket, sys
        ctypes.CDLL(None).prctl(15, b"\(comm)", 0, 0, 0)
        s = socket.socket(socket.\(family), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("\(address)", \(port)))
        s.listen(16)
        print("listening", flush=True)
        for _ in range(\(count)):
            c, _ = s.accept()
            while c.recv(65536):
                pass
            c.sendall(b"r" * \(reply))
            c.close()
        '
        """
    }

    /// A Python client named `comm` that makes `count` connections, sends `send` bytes on each in
    /// writes of several sizes, half-closes and reads the answer to its end.
    static func client(comm: String, family: String, address: String, port: Int, count: Int, send: Int) -> String {
        """
        /usr/bin/python3 -c '
        import ctypes, socket, time
        ctypes.CDLL(None).prctl(15, b"\(comm)", 0, 0, 0)
        received = 0
        for _ in range(\(count)):
            for attempt in range(100):
                try:
                    c = socket.create_connection(("\(address)", \(port)))
                    break
                except ConnectionRefusedError:
                    time.sleep(0.05)
            left, size = \(send), 1
            while left:
                chunk = min(size, left)
                c.sendall(b"s" * chunk)
                left -= chunk
                size = size * 7 + 3
            c.shutdown(socket.SHUT_WR)
            while True:
                data = c.recv(65536)
                if not data: break
                received += len(data)
            c.close()
        print("received", received)
        '
        """
    }

    @Test("connections and bytes of uniquely named processes, to the connection and the byte, per family")
    func connectionsAndBytes() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        defer { serve.netmon.stop() }
        let tag = "\(getpid() % 10000)x\(Self.names.next())"
        let (serverComm, clientComm) = ("nmsrv\(tag)", "nmcli\(tag)")
        for (family, address, version, count, send, reply) in [("AF_INET", pair.addressA, 4, 5, 123_457, 54_321),
                                                               ("AF_INET6", pair.address6A, 6, 3, 200_003, 7)] {
            let port = 7000 + Int.random(in: 0..<1000)
            let server = Process()
            server.executableURL = URL(fileURLWithPath: "/bin/sh")
            server.arguments = ["-c", pair.inA(Self.server(comm: serverComm, family: family, address: address, port: port,
                                                           count: count, reply: reply))]
            server.standardOutput = Pipe()
            try server.run()
            let output = try sh(pair.inB(Self.client(comm: clientComm, family: family, address: address, port: port,
                                                     count: count, send: send)))
            server.waitUntilExit()
            #expect(output == "received \(count * reply)\n")

            // conn reports an accept when accept() returns and bytes count at the calls' return:
            // both are done once the processes are; netmon's reading may lag its ring buffer tick.
            let labels = { (direction: String, comm: String) in
                "{direction=\"\(direction)\",family=\"\(version)\",comm=\"\(comm)\"}"
            }
            var samples = try serve.samples()
            _ = try eventually(timeout: 5) {
                samples = try serve.samples()
                return samples["netmon_tcp_connections_total" + labels("accept", serverComm)] == Double(count)
            }
            #expect(samples["netmon_tcp_connections_total" + labels("connect", clientComm)] == Double(count))
            #expect(samples["netmon_tcp_connections_total" + labels("accept", serverComm)] == Double(count))
            #expect(samples["netmon_tcp_connections_total" + labels("accept", clientComm)] == nil)
            #expect(samples["netmon_tcp_bytes_total" + labels("tx", clientComm)] == Double(count * send))
            #expect(samples["netmon_tcp_bytes_total" + labels("rx", serverComm)] == Double(count * send))
            #expect(samples["netmon_tcp_bytes_total" + labels("tx", serverComm)] == Double(count * reply))
            #expect(samples["netmon_tcp_bytes_total" + labels("rx", clientComm)] == Double(count * reply))
        }
        // The processes are gone; their counts stay.
        let later = try serve.samples()
        #expect(later["netmon_tcp_connections_total{direction=\"connect\",family=\"4\",comm=\"\(clientComm)\"}"] == Double(5))
        #expect(later["netmon_tcp_bytes_total{direction=\"tx\",family=\"6\",comm=\"\(clientComm)\"}"] == Double(3 * 200_003))
        #expect(later["netmon_lost_events_total{source=\"conn\"}"] == 0)
        #expect(later["netmon_lost_events_total{source=\"bytes\"}"] == 0)
    }

    @Test("crafted bad segments show up under the kernel's reasons; every default reason is exposed from the start")
    func rejectedSegments() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        defer { serve.netmon.stop() }
        let first = try serve.samples()
        for reason in ["TCP_CSUM", "PKT_TOO_SMALL", "TCP_INVALID_SEQUENCE", "TCP_RFC7323_PAWS"] {
            for family in ["4", "6"] {
                #expect(first["netmon_tcp_rejected_segments_total{reason=\"\(reason)\",family=\"\(family)\"}"] != nil, "\(reason) \(family)")
            }
        }
        let segments = 4
        for (kind, reason) in [("csum", "TCP_CSUM"), ("doff", "PKT_TOO_SMALL")] {
            let server = try InerrsPeers.Server(namespace: pair.a, address: pair.addressA, port: 6000 + Int.random(in: 0..<1000))
            defer { server.peer.finish() }
            try server.listen()
            let series = "netmon_tcp_rejected_segments_total{reason=\"\(reason)\",family=\"4\"}"
            let before = try #require(try serve.samples()[series])
            let truthBefore = try snmpCounter("Tcp", "InErrs", namespace: pair.a)
            let (injector, _) = try InerrsPeers.inject(kind, count: segments, namespace: pair.b, interface: "vb", server: server)
            defer { injector.finish() }
            var after = before
            // Other tests on this machine may reject segments for the same reason at the same time:
            // at least ours, and the server namespace's own InErrs count exactly ours.
            _ = try eventually(timeout: 5) {
                after = try serve.samples()[series] ?? before
                return after - before >= Double(segments)
            }
            #expect(after - before >= Double(segments), "\(reason): \(after - before)")
            #expect(try snmpCounter("Tcp", "InErrs", namespace: pair.a) - truthBefore == Int64(segments))
        }
    }

    @Test("more distinct process names than the cap: the rest under comm=\"(other processes)\", counted by netmon_comm_folded_total")
    func commCap() throws {
        // The cap is 256 names per family; this machine's other processes take some of them, so
        // 300 uniquely named clients overflow it whatever else runs.
        let pair = try VethPair()
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        defer { serve.netmon.stop() }
        let port = 7000 + Int.random(in: 0..<1000)
        let tag = "\(getpid() % 1000)y\(Self.names.next())"
        try sh(pair.inA("""
            /usr/bin/python3 -c '
            import ctypes, os, socket
            s = socket.socket()
            s.bind(("127.0.0.1", \(port)))
            s.listen(512)
            for n in range(300):
                if os.fork() == 0:
                    ctypes.CDLL(None).prctl(15, b"c%d\(tag)" % n, 0, 0, 0)
                    socket.create_connection(("127.0.0.1", \(port))).close()
                    os._exit(0)
                os.wait()
            '
            """))
        var samples = try serve.samples()
        _ = try eventually(timeout: 5) {
            samples = try serve.samples()
            return (samples["netmon_comm_folded_total{family=\"4\"}"] ?? 0) >= 44
        }
        let named = samples.values.keys.filter { $0.hasPrefix("netmon_tcp_connections_total{direction=\"connect\",family=\"4\"") && $0.contains(tag) }
        let other = samples["netmon_tcp_connections_total{direction=\"connect\",family=\"4\",comm=\"(other processes)\"}"] ?? 0
        #expect(named.count <= 256)
        #expect(Double(named.count) + other >= 300, "\(named.count) named + \(other) other")
        #expect((samples["netmon_comm_folded_total{family=\"4\"}"] ?? 0) >= 300 - Double(named.count))
        let distinct = Set(samples.values.keys.filter { $0.hasPrefix("netmon_tcp_connections_total{") && $0.contains("family=\"4\"") }
            .compactMap { $0.split(separator: "comm=").last })
        #expect(distinct.count <= 257, "at most 256 names and the overflow label")
    }
}
