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

    @Test("a flood of 100,000 bad-checksum segments: the counter moves exactly as the namespace's TcpInCsumErrors")
    func rejectedSegmentsFlood() throws {
        // One segment with a wrong TCP checksum, built by scapy, sent in a loop through a raw
        // AF_PACKET socket on vb in well under a second: far more than a ring buffer holds
        // between two reads. The kernel drops each before its socket lookup (TCP_CSUM) and counts
        // it in the namespace's TcpInCsumErrors; no socket is needed.
        let pair = try VethPair()
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        defer { serve.netmon.stop() }
        let count = 100_000
        let series = "netmon_tcp_rejected_segments_total{reason=\"TCP_CSUM\",family=\"4\"}"
        let mac = try sh(pair.inA("cat /sys/class/net/va/address")).trimmingCharacters(in: .whitespacesAndNewlines)
        let before = try #require(try serve.samples()[series])
        let truthBefore = try snmpCounter("Tcp", "InCsumErrors", namespace: pair.a)
        let sent = try sh(pair.inB("""
            /usr/bin/python3 -c '
            import logging, socket
            logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
            from scapy.layers.l2 import Ether
            from scapy.layers.inet import IP, TCP
            from scapy.packet import Raw
            source = open("/sys/class/net/vb/address").read().strip()
            packet = Ether(src=source, dst="\(mac)") / IP(src="\(pair.addressB)", dst="\(pair.addressA)") / TCP(sport=40000, dport=9, flags="PA") / Raw(b"x" * 10)
            packet[TCP].chksum = Ether(bytes(packet))[TCP].chksum ^ 0x5555
            frame = bytes(packet)
            raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            raw.bind(("vb", 0))
            for _ in range(\(count)):
                raw.send(frame)
            print(\(count))
            '
            """))
        #expect(sent == "\(count)\n")
        // The segments are processed in softirq right after each send; read the truth once it holds still.
        var truth = try snmpCounter("Tcp", "InCsumErrors", namespace: pair.a) - truthBefore
        _ = try eventually(timeout: 5) {
            usleep(200_000)
            let again = try snmpCounter("Tcp", "InCsumErrors", namespace: pair.a) - truthBefore
            defer { truth = again }
            return again == truth
        }
        #expect(truth > Int64(count) * 9 / 10, "the namespace counted \(truth) of \(count) checksum errors")
        var delta = 0.0
        let agreed = try eventually(timeout: 5) {
            delta = try (serve.samples()[series] ?? before) - before
            return delta == Double(truth)
        }
        #expect(agreed, "netmon_tcp_rejected_segments_total moved by \(Int64(delta)), TcpInCsumErrors by \(truth)")
        #expect(try serve.samples()["netmon_lost_events_total{source=\"inerrs\"}"] == 0)
    }

    @Test("a burst of 20,000 connections while serve is descheduled: the counters move exactly as the namespace's opens")
    func connectionBurst() throws {
        // serve is stopped (SIGSTOP) for the burst, as a busy host deschedules a reader: 40,000
        // connects and accepts, three times what conn's ring buffer holds. Counted in the kernel,
        // none is missing when it runs again.
        let pair = try VethPair()
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        defer { serve.netmon.stop() }
        let port = ConnPorts.next()
        let (threads, perThread) = (4, 5000)
        let total = threads * perThread
        let go = GoFile()
        defer { go.remove() }
        let tag = "\(getpid() % 1000)b\(Self.names.next())"
        let server = try ConnPeer("server", family: "4", address: "127.0.0.1", port: port, count: total,
                                  name: "nmbs\(tag)", namespace: pair.a)
        defer { server.stop() }
        try server.waitReady()
        let client = try ConnPeer("client", family: "4", address: "127.0.0.1", port: port, count: perThread,
                                  name: "nmbc\(tag)", extra: [go.path, String(threads)], namespace: pair.a)
        defer { client.stop() }
        let labels = { (direction: String, comm: String) in
            "netmon_tcp_connections_total{direction=\"\(direction)\",family=\"4\",comm=\"\(comm)\"}"
        }
        let first = try serve.samples()
        #expect(first[labels("connect", "nmbc\(tag)")] == nil)
        let activeBefore = try snmpCounter("Tcp", "ActiveOpens", namespace: pair.a)
        let passiveBefore = try snmpCounter("Tcp", "PassiveOpens", namespace: pair.a)
        let pid = serve.netmon.process.processIdentifier
        kill(pid, SIGSTOP)
        go.release()
        let made = ConnPeer.localPorts(client.finish()).count
        let served = server.finish().last
        kill(pid, SIGCONT)
        let active = try snmpCounter("Tcp", "ActiveOpens", namespace: pair.a) - activeBefore
        let passive = try snmpCounter("Tcp", "PassiveOpens", namespace: pair.a) - passiveBefore
        #expect(made == total && served == "done")
        #expect(active == Int64(total) && passive == Int64(total), "ActiveOpens +\(active), PassiveOpens +\(passive)")
        var samples = try serve.samples()
        _ = try eventually(timeout: 5) {
            samples = try serve.samples()
            return samples[labels("accept", "nmbs\(tag)")] == Double(passive)
        }
        #expect(samples[labels("connect", "nmbc\(tag)")] == Double(active))
        #expect(samples[labels("accept", "nmbs\(tag)")] == Double(passive))
        #expect(samples["netmon_lost_events_total{source=\"conn\"}"] == 0)
    }

    @Test("a process cycling through 5,000 names: the kernel's name map drains, a name that comes later has its own series, every connection counted")
    func kernelNameMapDrains() throws {
        // The attack on conn's kernel map of names (4,096 keys): one process renames itself
        // (prctl) before each connection and accept, 10,000 keys in all. Were keys never deleted,
        // every name after that would count under the overflow for the life of serve. The short
        // --comm-ttl frees serve's own 256 label slots after the flood, so only the kernel's map
        // can fold the name that comes after it.
        let pair = try VethPair()
        defer { try? pair.remove() }
        let ttl = 4
        let serve = try ServeUnderTest(["--comm-ttl", String(ttl)], namespace: pair.a)
        defer { serve.netmon.stop() }
        let port = 7000 + Int.random(in: 0..<1000)
        let tag = "\(getpid() % 1000)k\(Self.names.next())"
        let overflow = "netmon_tcp_connections_total{direction=\"connect\",family=\"4\",comm=\"(other processes)\"}"
        let overflowBefore = try serve.samples()[overflow] ?? 0
        let activeBefore = try snmpCounter("Tcp", "ActiveOpens", namespace: pair.a)
        let script = { (names: String, count: Int) in
            pair.inA("""
                /usr/bin/python3 -c '
                import ctypes, socket
                prctl = ctypes.CDLL(None).prctl
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", \(port)))
                s.listen(64)
                for n in range(\(count)):
                    prctl(15, \(names), 0, 0, 0)
                    c = socket.create_connection(("127.0.0.1", \(port)))
                    a, _ = s.accept()
                    a.close()
                    c.close()
                '
                """)
        }
        let flood = 5000
        try sh(script("b\"h%d\(tag)\" % n", flood))
        let active = try snmpCounter("Tcp", "ActiveOpens", namespace: pair.a) - activeBefore
        #expect(active == Int64(flood))
        // Every connection is counted once: under its name (at most 256 of them get series) or
        // under the overflow (which other processes of the host may add to).
        var samples = try serve.samples()
        var named = 0.0
        var folded = 0.0
        _ = try eventually(timeout: 5) {
            samples = try serve.samples()
            named = samples.values.filter { $0.key.hasPrefix("netmon_tcp_connections_total{direction=\"connect\",family=\"4\",comm=\"h") && $0.key.contains("\(tag)\"}") }
                .map(\.value).reduce(0, +)
            folded = (samples[overflow] ?? 0) - overflowBefore
            return named + folded >= Double(flood)
        }
        #expect(named <= Double(flood) && named + folded >= Double(flood), "\(named) named + \(folded) under the overflow")
        // Once the flood's names expired from serve, a new name gets its own series. serve counts
        // the whole host: when other processes (other tests) took serve's 256 label slots in the
        // meantime, the new name is folded by serve, not by the kernel; try again, up to 3 names.
        // With the kernel's map never emptied, no try can succeed.
        let fresh = { (direction: String, name: String) in
            "netmon_tcp_connections_total{direction=\"\(direction)\",family=\"4\",comm=\"\(name)\"}"
        }
        var name = ""
        for attempt in 0..<3 {
            sleep(UInt32(ttl + 2))
            name = "f\(attempt)\(tag)"
            try sh(script("b\"\(name)\"", 3))
            let named = try eventually(timeout: 5) {
                samples = try serve.samples()
                return samples[fresh("connect", name)] == 3 && samples[fresh("accept", name)] == 3
            }
            if named { break }
        }
        #expect(samples[fresh("connect", name)] == 3, "connections of a name after the flood: \(samples[fresh("connect", name)] ?? 0)")
        #expect(samples[fresh("accept", name)] == 3)
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
