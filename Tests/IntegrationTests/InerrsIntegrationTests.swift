import Foundation
import Testing

/// `netmon inerrs` against segments the test crafts (scapy) and injects into a live TCP connection
/// between two namespaces. Ground truth: what the test sent, the server's pid, and the TCP
/// counters of the server's namespace (/proc/net/snmp, /proc/net/netstat), which the kernel keeps.
@Suite("netmon inerrs", .serialized, .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct InerrsIntegrationTests {
    /// A crafted-segment case: what InerrsPeer.py sends, the reason this kernel (6.18) gives, and
    /// the counters of the server's namespace that count it (group, name, file).
    struct Case: CustomTestStringConvertible, Sendable {
        let kind: String
        let reason: String
        let counters: [(String, String, String)]
        var testDescription: String { kind }
    }

    static let snmp = "/proc/net/snmp", netstat = "/proc/net/netstat"

    // What each case really produces on 6.18 (found by running it):
    // - csum: tcp_v4_rcv verifies the checksum before the socket lookup → TCP_CSUM; counted in
    //   InCsumErrors and InErrs. netmon finds the socket by its remembered addresses.
    // - doff: data offset 4 fails tcp_v4_rcv's header check before the lookup → PKT_TOO_SMALL, InErrs.
    // - seq: sequence 2^30 beyond the window fails tcp_sequence in tcp_validate_incoming, which
    //   answers with a duplicate ACK and drops → TCP_INVALID_SEQUENCE; no counter counts it (so
    //   InErrs must stay put).
    // - ack: an ACK of data never sent fails tcp_ack → TCP_ACK_UNSENT_DATA; no counter.
    // - syn: a SYN in the window of an established connection gets a challenge ACK and is dropped
    //   → TCP_INVALID_SYN; counted in InErrs and TcpExt TCPSYNChallenge.
    // - paws: an old timestamp on an in-window data segment fails PAWS → TCP_RFC7323_PAWS; counted
    //   in TcpExt PAWSEstab.
    static let cases = [
        Case(kind: "csum", reason: "TCP_CSUM", counters: [("Tcp", "InCsumErrors", snmp), ("Tcp", "InErrs", snmp)]),
        Case(kind: "doff", reason: "PKT_TOO_SMALL", counters: [("Tcp", "InErrs", snmp)]),
        Case(kind: "seq", reason: "TCP_INVALID_SEQUENCE", counters: []),
        Case(kind: "ack", reason: "TCP_ACK_UNSENT_DATA", counters: []),
        Case(kind: "syn", reason: "TCP_INVALID_SYN", counters: [("Tcp", "InErrs", snmp), ("TcpExt", "TCPSYNChallenge", netstat)]),
        Case(kind: "paws", reason: "TCP_RFC7323_PAWS", counters: [("TcpExt", "PAWSEstab", netstat)]),
    ]

    static let segments = 3

    @Test("each kind of bad segment: exactly K lines with its reason, state, addresses and owner; kernel counters agree",
          arguments: cases)
    func badSegments(_ testCase: Case) throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let port = 6000 + Int.random(in: 0..<1000)
        let netmon = try NetmonProcess.start(["inerrs", "--json"])
        defer { netmon.stop() }
        let server = try InerrsPeers.Server(namespace: pair.a, address: pair.addressA, port: port)
        defer { server.peer.finish() }
        try server.listen()

        let tracked = [("Tcp", "InErrs", Self.snmp)] + testCase.counters
        let before = try tracked.map { try snmpCounter($0.0, $0.1, file: $0.2, namespace: pair.a) }
        let (injector, clientPort) = try InerrsPeers.inject(testCase.kind, count: Self.segments,
                                                            namespace: pair.b, interface: "vb", server: server)
        defer { injector.finish() }
        usleep(300_000)
        let after = try tracked.map { try snmpCounter($0.0, $0.1, file: $0.2, namespace: pair.a) }
        #expect(netmon.stop() == 0)

        let lines = InerrsLine.parse(netmon, saddr: pair.addressB, daddr: pair.addressA, port: port)
        #expect(lines.count == Self.segments, "lines: \(netmon.stdoutLines.filter { $0.contains(pair.addressA) })")
        for line in lines {
            #expect(line.reason == testCase.reason)
            #expect(line.state == "ESTABLISHED")
            #expect(line.ip == 4)
            #expect(line.saddr == pair.addressB && line.sport == clientPort)
            #expect(line.pid == Int(server.pid) && line.comm == "python3" && line.holder,
                    "owner: \(line.pid) \(line.comm) holder \(line.holder); injector \(injector.process.processIdentifier)")
        }
        for (index, counter) in tracked.enumerated() {
            let delta = after[index] - before[index]
            if testCase.counters.contains(where: { $0.1 == counter.1 }) {
                #expect(delta == Int64(lines.count), "\(counter.1) grew by \(delta)")
            } else {
                #expect(delta == 0, "\(counter.1) grew by \(delta), yet the kernel does not count \(testCase.kind) there")
            }
        }
    }

    @Test("-p, -4, -6 and --all select the right segments")
    func filters() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let port4 = 7000 + Int.random(in: 0..<500), port6 = port4 + 500, closedPort = port4 + 1000
        let server4 = try InerrsPeers.Server(namespace: pair.a, address: pair.addressA, port: port4)
        defer { server4.peer.finish() }
        let server6 = try InerrsPeers.Server(namespace: pair.a, address: pair.address6A, port: port6)
        defer { server6.peer.finish() }

        let runs = [["-p", String(server4.pid)], ["-4"], ["-6"], [], ["--all"]]
        let netmons = try runs.map { try NetmonProcess.start(["inerrs", "--json"] + $0) }
        defer { for netmon in netmons { netmon.stop() } }
        try server4.listen()
        try server6.listen()

        let csumBefore = try snmpCounter("Tcp", "InCsumErrors", namespace: pair.a)
        let v4 = try InerrsPeers.inject("csum", count: 2, namespace: pair.b, interface: "vb", server: server4)
        defer { v4.peer.finish() }
        let v6 = try InerrsPeers.inject("csum", count: 2, namespace: pair.b, interface: "vb", server: server6)
        defer { v6.peer.finish() }
        // Two SYNs to a port nobody listens on: NO_SOCKET, a drop only --all shows.
        try sh(pair.inB("/usr/bin/python3 -c 'import socket\nfor _ in range(2):\n s = socket.socket()\n try: s.connect((\"\(pair.addressA)\", \(closedPort)))\n except OSError: pass'"))
        usleep(300_000)
        #expect(try snmpCounter("Tcp", "InCsumErrors", namespace: pair.a) - csumBefore == 4)
        for netmon in netmons { #expect(netmon.stop() == 0) }

        func counts(_ netmon: NetmonProcess) -> (v4: Int, v6: Int, closed: Int) {
            let v4Lines = InerrsLine.parse(netmon, saddr: pair.addressB, daddr: pair.addressA, port: port4)
            let v6Lines = InerrsLine.parse(netmon, saddr: pair.address6B, daddr: pair.address6A, port: port6)
            let closed = InerrsLine.parse(netmon, saddr: pair.addressB, daddr: pair.addressA, port: closedPort)
            #expect(v4Lines.allSatisfy { $0.reason == "TCP_CSUM" && $0.ip == 4 && $0.pid == Int(server4.pid) })
            #expect(v6Lines.allSatisfy { $0.reason == "TCP_CSUM" && $0.ip == 6 && $0.pid == Int(server6.pid)
                                         && $0.saddr == pair.address6B && $0.sport == v6.clientPort && $0.state == "ESTABLISHED" })
            #expect(closed.allSatisfy { $0.reason == "NO_SOCKET" && $0.state == "-" })
            return (v4Lines.count, v6Lines.count, closed.count)
        }
        let byPID = counts(netmons[0]), only4 = counts(netmons[1]), only6 = counts(netmons[2])
        let standard = counts(netmons[3]), all = counts(netmons[4])
        #expect(byPID == (2, 0, 0), "-p \(server4.pid)")
        #expect(only4 == (2, 0, 0), "-4")
        #expect(only6 == (0, 2, 0), "-6")
        #expect(standard == (2, 2, 0), "default")
        #expect(all == (2, 2, 2), "--all")
    }

    @Test("table output, --count, and no programs left behind")
    func tableAndCount() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let port = 8000 + Int.random(in: 0..<1000)
        let server = try InerrsPeers.Server(namespace: pair.a, address: pair.addressA, port: port)
        defer { server.peer.finish() }
        let table = try NetmonProcess.start(["inerrs", "-p", String(server.pid)])
        let counted = try NetmonProcess.start(["inerrs", "-c", "2"])
        try server.listen()
        let (injector, clientPort) = try InerrsPeers.inject("syn", count: 2, namespace: pair.b, interface: "vb", server: server)
        defer { injector.finish() }
        // -c 2 ends by itself after two segments (ours or anyone's), with status 0.
        #expect(counted.waitForExit(timeout: 20) == 0)
        #expect(counted.stdoutLines.count == 3, "header and two lines: \(counted.stdout)")
        usleep(300_000)
        let ours = try table.programIDs()
        #expect(!ours.isEmpty)
        #expect(table.stop() == 0)
        let lines = table.stdoutLines
        #expect(lines.first == "TIME     PID     COMM             IP SADDR:SPORT           > DADDR:DPORT           REASON                   STATE")
        let rows = lines.dropFirst()
        #expect(rows.count == 2, "\(table.stdout)")
        for line in rows {
            let columns = line.split(separator: " ").map(String.init)
            #expect(columns.dropFirst().elementsEqual([String(server.pid), "python3", "4", "\(pair.addressB):\(clientPort)", ">",
                                                      "\(pair.addressA):\(port)", "TCP_INVALID_SYN", "ESTABLISHED"]), "\(line)")
        }
        let remaining = try programsStillLoaded(ours)
        #expect(remaining.isEmpty, "still loaded: \(remaining)")
    }
}
