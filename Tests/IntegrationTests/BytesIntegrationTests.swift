import Foundation
import Testing

/// `netmon bytes` with real BPF: exact byte counts against what the test's own processes moved and
/// what the kernel's per-socket counters (`ss -tin`) say. netmon sees every namespace's sockets, so
/// each test looks only at the rows of the connections it made.
@Suite("netmon bytes (BPF)", .serialized, .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct BytesIntegrationTests {
    /// Both ends of one exchange are counted exactly, charged to their own processes, and agree
    /// with the kernel's per-socket counters.
    func expectExact(_ rows: BytesRows, _ client: BytesTraffic.End, _ server: BytesTraffic.End,
                     ip: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        // What the test's processes moved (their calls' return values)...
        #expect(client.movedOut == BytesTraffic.clientSends, sourceLocation: sourceLocation)
        #expect(server.movedOut == BytesTraffic.serverSends, sourceLocation: sourceLocation)
        // ... is what the kernel's socket counters say (both ends). They count sequence space: the
        // client's bytes_acked includes its SYN (tcp_ack of the SYN-ACK advances snd_una by one),
        // and the server, read after the client's shutdown, includes the FIN in bytes_received.
        #expect(client.bytesAcked - 1 == BytesTraffic.clientSends, sourceLocation: sourceLocation)
        #expect(client.bytesReceived == BytesTraffic.serverSends, sourceLocation: sourceLocation)
        #expect(server.bytesReceived - 1 == BytesTraffic.clientSends, sourceLocation: sourceLocation)
        #expect(server.bytesAcked == BytesTraffic.serverSends, sourceLocation: sourceLocation)
        // ... and what netmon counted, on the right process, with nothing charged to any other.
        let clientRows = rows.rows(of: client)
        let serverRows = rows.rows(of: server)
        #expect(clientRows.count == 1 && serverRows.count == 1,
                "client rows \(clientRows), server rows \(serverRows)", sourceLocation: sourceLocation)
        let clientTotal = rows.total(of: client)
        let serverTotal = rows.total(of: server)
        #expect(clientTotal?.tx == client.bytesAcked - 1 && clientTotal?.rx == client.bytesReceived,
                "client \(client.pid): \(String(describing: clientTotal))", sourceLocation: sourceLocation)
        #expect(serverTotal?.rx == server.bytesReceived - 1 && serverTotal?.tx == server.bytesAcked,
                "server \(server.pid): \(String(describing: serverTotal))", sourceLocation: sourceLocation)
        for key in clientRows.keys where key.pid == client.pid {
            #expect(key.ip == ip && rows.comms[key] == "python3", sourceLocation: sourceLocation)
        }
    }

    @Test("loopback, dual-stack server: exact totals for both ends; IPv4-mapped counts as IPv4")
    func loopbackMapped() throws {
        let all = try NetmonProcess.start(["bytes", "--json", "-i", "0.5"])
        let ipv4 = try NetmonProcess.start(["bytes", "--json", "-i", "0.5", "-4"])
        let ipv6 = try NetmonProcess.start(["bytes", "--json", "-i", "0.5", "-6"])
        // Reports every 10 ms (the smallest interval): the kernel switches maps many times during
        // the transfer, and not a byte may be lost or counted twice at a switch.
        let fast = try NetmonProcess.start(["bytes", "--json", "-i", "0.01"])
        // The server's socket is AF_INET6 with ::ffff:127.0.0.1 addresses; the client's is AF_INET.
        let traffic = try BytesTraffic.exchange(bind: "::", connect: "127.0.0.1")
        usleep(200_000)
        for netmon in [all, ipv4, ipv6, fast] { #expect(netmon.stop() == 0, "\(netmon.stderr)") }

        let (client, server) = traffic
        #expect(server.address == "127.0.0.1" && client.address == "127.0.0.1")
        expectExact(try BytesRows(all.stdoutLines), client, server, ip: 4)
        expectExact(try BytesRows(ipv4.stdoutLines), client, server, ip: 4)
        let fastRows = try BytesRows(fast.stdoutLines)
        expectExact(fastRows, client, server, ip: 4)
        let intervals = Set(fast.stdoutLines.filter { $0.contains("\"sport\":\(client.port),") }.map { $0.prefix(40) })
        #expect(intervals.count >= 2, "the transfer spanned only \(intervals.count) reports")
        let leaked = try BytesRows(ipv6.stdoutLines).rows(withPorts: [server.port])
        #expect(leaked.isEmpty, "-6 showed the IPv4-mapped connection: \(leaked)")
        for netmon in [all, ipv4, ipv6, fast] { #expect(!netmon.stderr.contains("dropped")) }
    }

    @Test("across a veth pair, IPv4 and IPv6: exact totals for both ends; -4 and -6 filter")
    func vethBothFamilies() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let ipv4 = try NetmonProcess.start(["bytes", "--json", "-i", "0.5", "-4"])
        let ipv6 = try NetmonProcess.start(["bytes", "--json", "-i", "0.5", "--ipv6"])
        let four = try BytesTraffic.exchange(bind: pair.addressB, connect: pair.addressB,
                                             serverNamespace: pair.b, clientNamespace: pair.a)
        let six = try BytesTraffic.exchange(bind: pair.address6B, connect: pair.address6B,
                                            serverNamespace: pair.b, clientNamespace: pair.a)
        usleep(200_000)
        #expect(ipv4.stop() == 0 && ipv6.stop() == 0)

        let rows4 = try BytesRows(ipv4.stdoutLines)
        let rows6 = try BytesRows(ipv6.stdoutLines)
        #expect(four.client.address == pair.addressA && six.client.address == pair.address6A)
        expectExact(rows4, four.client, four.server, ip: 4)
        expectExact(rows6, six.client, six.server, ip: 6)
        #expect(rows4.rows(withPorts: [six.server.port]).filter { $0.daddr == pair.address6B || $0.saddr == pair.address6B }.isEmpty)
        #expect(rows6.rows(withPorts: [four.server.port]).filter { $0.daddr == pair.addressB || $0.saddr == pair.addressB }.isEmpty)
    }

    @Test("-p shows only that process: two clients on separate connections")
    func pidFilter() throws {
        let goFile = NSTemporaryDirectory() + "netmon-bytes-go-\(getpid())"
        unlink(goFile)
        defer { unlink(goFile) }
        let serverOne = try BytesTraffic.startServer(bind: "127.0.0.1", namespace: nil)
        let serverTwo = try BytesTraffic.startServer(bind: "127.0.0.1", namespace: nil)
        let clientOne = try BytesTraffic.startClient(to: "127.0.0.1", port: serverOne.port, namespace: nil, goFile: goFile)
        let clientTwo = try BytesTraffic.startClient(to: "127.0.0.1", port: serverTwo.port, namespace: nil, goFile: goFile)
        let netmon = try NetmonProcess.start(["bytes", "--json", "-i", "0.5", "-p", String(clientOne.0.processIdentifier)])
        FileManager.default.createFile(atPath: goFile, contents: Data())
        let one = try BytesTraffic.finish(clientOne)
        let two = try BytesTraffic.finish(clientTwo)
        let serverOneEnd = try BytesTraffic.finish(serverOne.started)
        let serverTwoEnd = try BytesTraffic.finish(serverTwo.started)
        usleep(200_000)
        #expect(netmon.stop() == 0)

        let rows = try BytesRows(netmon.stdoutLines)
        #expect(rows.totals.keys.allSatisfy { $0.pid == one.pid }, "\(rows.totals)")
        #expect(rows.total(of: one)?.tx == BytesTraffic.clientSends && rows.total(of: one)?.rx == BytesTraffic.serverSends)
        #expect(rows.rows(of: two).isEmpty && rows.rows(of: serverOneEnd).isEmpty && rows.rows(of: serverTwoEnd).isEmpty)
    }

    @Test("a connection that opens, moves bytes and closes within one interval is counted in it")
    func shortConnection() throws {
        let netmon = try NetmonProcess.start(["bytes", "--json", "-i", "3", "-c", "1"])
        let server = try BytesTraffic.startServer(bind: "127.0.0.1", namespace: nil, receives: 30_000, sends: 4_321)
        let client = try BytesTraffic.finish(try BytesTraffic.startClient(
            to: "127.0.0.1", port: server.port, namespace: nil, sends: 30_000, sendfile: 10_000, receives: 4_321))
        let serverEnd = try BytesTraffic.finish(server.started)
        #expect(netmon.waitForExit() == 0)

        // One interval (-c 1): the connection is closed before it ends, and still in it.
        let rows = try BytesRows(netmon.stdoutLines)
        let times = Set(netmon.stdoutLines.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["time"] as? String
        })
        #expect(times.count <= 1)
        #expect(rows.total(of: client)?.tx == 30_000 && rows.total(of: client)?.rx == 4_321)
        #expect(rows.total(of: serverEnd)?.rx == 30_000 && rows.total(of: serverEnd)?.tx == 4_321)
    }

    @Test("the table on a pipe: time header, both tables, KB, no terminal escapes")
    func table() throws {
        let netmon = try NetmonProcess.start(["bytes", "-i", "1", "-c", "1"])
        let traffic = try BytesTraffic.exchange(bind: "127.0.0.1", connect: "127.0.0.1")
        #expect(netmon.waitForExit() == 0)
        let text = netmon.stdout
        #expect(!text.contains("\u{1B}"))
        let lines = netmon.stdoutLines
        #expect(lines.contains { $0.hasPrefix("PID") && $0.contains("SADDR:SPORT") && $0.hasSuffix("RX_KB    TX_KB") })
        #expect(lines.contains { $0.hasPrefix("PID") && $0.contains("SADDR6:SPORT") })
        let clientRow = lines.first { $0.hasPrefix("\(traffic.client.pid) ") }
        let fields = clientRow?.split(separator: " ").map(String.init) ?? []
        #expect(fields == [String(traffic.client.pid), "python3", "127.0.0.1:\(traffic.client.port)",
                           "127.0.0.1:\(traffic.server.port)", String(BytesTraffic.serverSends / 1024),
                           String(BytesTraffic.clientSends / 1024)], "\(text)")
    }

    @Test("usage errors exit 2; the programs are gone after a run")
    func usageAndCleanup() throws {
        let both = try runNetmon(["bytes", "-4", "-6"])
        #expect(both.status == 2 && both.stderr.contains("netmon:") && both.stdout.isEmpty)
        let pid = try runNetmon(["bytes", "-p", "nope"])
        #expect(pid.status == 2)
        let run = try NetmonProcess.start(["bytes", "-i", "0.2", "-c", "2", "--json"])
        let ours = try run.programIDs()
        #expect(!ours.isEmpty)
        #expect(run.waitForExit() == 0)
        #expect(try programsStillLoaded(ours).isEmpty)
    }
}
