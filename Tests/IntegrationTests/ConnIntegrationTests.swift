import Foundation
import Testing

/// `netmon conn` against connections the tests make, between python processes with names of
/// their own, on loopback and across a veth pair between namespaces. netmon sees every namespace
/// and whatever else runs on the machine, so only lines with the tests' ports are counted.
@Suite("netmon conn", .serialized, .connExclusive, .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct ConnIntegrationTests {
    /// Where a server listens and where its client connects.
    struct Path: CustomStringConvertible, Sendable {
        let label: String
        let family: String        // the sockets' family: "4" (AF_INET) or "6" (AF_INET6)
        let listen: String        // server bind address
        let connect: String       // client connect address
        let reportedIP: Int       // what netmon must print in "ip"
        let serverAddress: String // what netmon must print for the server's end
        let clientAddress: String // ... and for the client's end
        let veth: Bool
        var description: String { label }
    }

    static let paths: [Path] = [
        Path(label: "IPv4 loopback", family: "4", listen: "127.0.0.1", connect: "127.0.0.1", reportedIP: 4,
             serverAddress: "127.0.0.1", clientAddress: "127.0.0.1", veth: false),
        Path(label: "IPv6 loopback", family: "6", listen: "::1", connect: "::1", reportedIP: 6,
             serverAddress: "::1", clientAddress: "::1", veth: false),
        Path(label: "IPv4-mapped on AF_INET6 sockets", family: "6", listen: "::", connect: "::ffff:127.0.0.1",
             reportedIP: 4, serverAddress: "127.0.0.1", clientAddress: "127.0.0.1", veth: false),
        Path(label: "IPv4 across veth namespaces", family: "4", listen: "", connect: "", reportedIP: 4,
             serverAddress: "", clientAddress: "", veth: true),
        Path(label: "IPv6 across veth namespaces", family: "6", listen: "", connect: "", reportedIP: 6,
             serverAddress: "", clientAddress: "", veth: true),
    ]

    @Test("N connects: exactly N connect lines (client's pid/comm) and N accept lines (server's)", arguments: paths)
    func connectsAndAccepts(path: Path) throws {
        let connections = 5
        var path = path
        var pair: VethPair?
        if path.veth {
            let made = try VethPair()
            pair = made
            try ConnReceiveThread.enable(on: made)
            let (server, client) = path.family == "4" ? (made.addressB, made.addressA) : (made.address6B, made.address6A)
            path = Path(label: path.label, family: path.family, listen: server, connect: server, reportedIP: path.reportedIP,
                        serverAddress: server, clientAddress: client, veth: true)
        }
        defer { try? pair?.remove() }
        let port = ConnPorts.next()
        let go = GoFile()
        defer { go.remove() }
        // The IPv6 paths accept with accept(2), the others with accept4(2): both exits are watched.
        let server = try ConnPeer("server", family: path.family, address: path.listen, port: port, count: connections,
                                  name: "nmsrv\(port)", extra: (path.family == "6" ? ["plain"] : []) + ["hold"],
                                  namespace: pair?.b)
        defer { server.stop() }
        try server.waitReady()
        // The client keeps its connections open until netmon has printed them: a connect line
        // comes when the connection is established, not when it ends.
        let client = try ConnPeer("client", family: path.family, address: path.connect, port: port, count: connections,
                                  name: "nmcli\(port)", extra: [go.path, "hold"], namespace: pair?.a)
        defer { client.stop() }

        let netmon = try NetmonProcess.start(["conn", "--json"])
        let table = try NetmonProcess.start(["conn"])
        go.release()
        let clientPorts = ConnPeer.localPorts(client.readUntilDone()).map(\.port)
        _ = server.readUntilDone()
        #expect(clientPorts.count == connections)
        netmon.waitForConnLines(2 * connections) { $0.involves(port: port) }
        table.waitForLines(1 + 2 * connections, timeout: 5)
        #expect(client.process.isRunning && server.process.isRunning, "the connections were still open")
        #expect(netmon.stop() == 0)
        #expect(table.stop() == 0)
        client.stop()
        server.stop()

        let lines = netmon.connLines { $0.involves(port: port) }
        let connects = lines.filter { $0.direction == "connect" }
        let accepts = lines.filter { $0.direction == "accept" }
        #expect(connects.count == connections, "\(lines)")
        #expect(accepts.count == connections, "\(lines)")
        for line in connects {
            #expect(line.pid == Int(client.pid) && line.comm == "nmcli\(port)", "\(line)")
            #expect(line.ip == path.reportedIP && line.daddr == path.serverAddress && line.dport == port, "\(line)")
            #expect(line.saddr == path.clientAddress, "\(line)")
        }
        for line in accepts {
            #expect(line.pid == Int(server.pid) && line.comm == "nmsrv\(port)", "\(line)")
            #expect(line.ip == path.reportedIP && line.saddr == path.serverAddress && line.sport == port, "\(line)")
            #expect(line.daddr == path.clientAddress, "\(line)")
        }
        // Both ends of each connection, by the client's own account of its local ports.
        #expect(connects.map(\.sport).sorted() == clientPorts.sorted())
        #expect(accepts.map(\.dport).sorted() == clientPorts.sorted())

        // The table: the header once, then one row per connection in the header's columns.
        let rows = table.stdoutLines
        #expect(rows.first?.split(separator: " ") == ["TIME", "PID", "COMM", "IP", "DADDR", "DPORT", "SADDR", "SPORT", "DIRECTION"])
        let ours = rows.dropFirst().filter { $0.contains("nmcli\(port)") || $0.contains("nmsrv\(port)") }
        #expect(ours.count == 2 * connections)
        let headerDirection = rows.first.flatMap { $0.range(of: "DIRECTION") }.map { rows.first!.distance(from: rows.first!.startIndex, to: $0.lowerBound) }
        for row in ours {
            let fields = row.split(separator: " ").map(String.init)
            #expect(fields.count == 9, "\(row)")
            guard fields.count == 9 else { continue }
            #expect(fields[1] == String(fields[2] == "nmcli\(port)" ? client.pid : server.pid))
            #expect(fields[3] == String(path.reportedIP))
            #expect(fields[8] == (fields[2] == "nmcli\(port)" ? "connect" : "accept"))
            #expect(row.count - fields[8].count == headerDirection, "columns shifted: \(row)")
        }
    }

    @Test("a connect to a closed port and one to a port that drops SYNs print nothing")
    func failedConnects() throws {
        let closedPort = ConnPorts.next()
        let droppingPort = ConnPorts.next()
        let go = GoFile()
        defer { go.remove() }
        // A listener with a backlog of 0 that never accepts: once one connection waits in its
        // accept queue, the kernel drops further SYNs (ListenOverflows), so the next connect times out.
        let full = try ConnPeer("server", family: "4", address: "127.0.0.1", port: droppingPort, count: 0,
                                name: "nmfull\(droppingPort)", extra: ["backlog0"])
        defer { full.stop() }
        try full.waitReady()
        let filler = try ConnPeer("client", family: "4", address: "127.0.0.1", port: droppingPort, count: 1,
                                  name: "nmfill\(droppingPort)", extra: [go.path])
        defer { filler.stop() }
        let refused = try ConnPeer("client", family: "4", address: "127.0.0.1", port: closedPort, count: 2,
                                   name: "nmrst\(closedPort)", extra: [go.path, "1", "fail"])
        defer { refused.stop() }

        let netmon = try NetmonProcess.start(["conn", "--json"])
        go.release()
        #expect(ConnPeer.localPorts(filler.finish()).count == 1)
        let dropped = try ConnPeer("client", family: "4", address: "127.0.0.1", port: droppingPort, count: 1,
                                   name: "nmdrop\(droppingPort)", extra: [go.path, "1", "fail"])
        defer { dropped.stop() }
        #expect(refused.finish().filter { $0 == "failed ConnectionRefusedError" }.count == 2)
        #expect(dropped.finish().contains { $0.hasPrefix("failed ") && !$0.contains("Refused") })
        netmon.waitForConnLines(1, timeout: 5) { $0.comm.hasPrefix("nmfill") }
        usleep(300_000)
        #expect(netmon.stop() == 0)

        // The established filler shows that netmon was watching; it was never accepted.
        let lines = netmon.connLines { $0.involves(port: droppingPort) || $0.involves(port: closedPort) }
        #expect(lines.map(\.comm) == ["nmfill\(droppingPort)"], "\(lines)")
        #expect(lines.first?.direction == "connect")
    }

    @Test("every filter shows exactly the matching subset")
    func filters() throws {
        // Four servers: IPv4 on p1 and p2, IPv6 on p3, and a dual-stack AF_INET6 one on p4 that
        // its client reaches through an IPv4-mapped address (IPv4 for netmon).
        let ports = (0..<4).map { _ in ConnPorts.next() }
        let setups: [(family: String, listen: String, connect: String)] = [
            ("4", "127.0.0.1", "127.0.0.1"), ("4", "127.0.0.1", "127.0.0.1"), ("6", "::1", "::1"), ("6", "::", "::ffff:127.0.0.1"),
        ]
        let perClient = 3
        let go = GoFile()
        defer { go.remove() }
        var servers: [ConnPeer] = []
        var clients: [ConnPeer] = []
        defer { (servers + clients).forEach { $0.stop() } }
        for (index, setup) in setups.enumerated() {
            let server = try ConnPeer("server", family: setup.family, address: setup.listen, port: ports[index],
                                      count: perClient, name: "nmfs\(ports[index])")
            try server.waitReady()
            servers.append(server)
            clients.append(try ConnPeer("client", family: setup.family, address: setup.connect, port: ports[index],
                                        count: perClient, name: "nmfc\(ports[index])", extra: [go.path]))
        }

        let runs: [(arguments: [String], expected: (ConnLine) -> Bool)] = [
            ([], { _ in true }),
            (["-P", "\(ports[0]),\(ports[2])"], { [ports[0], ports[2]].contains($0.sport) }),
            (["-r", "connect"], { $0.direction == "connect" }),
            (["-r", "accept"], { $0.direction == "accept" }),
            (["-4"], { $0.ip == 4 }),
            (["-6"], { $0.ip == 6 }),
            (["-p", String(clients[1].pid)], { $0.pid == Int(clients[1].pid) }),
            (["-p", String(servers[3].pid), "-r", "accept", "-4"], { $0.pid == Int(servers[3].pid) }),
        ]
        let netmons = try runs.map { try NetmonProcess.start(["conn", "--json"] + $0.arguments) }
        defer { netmons.forEach { $0.stop() } }
        go.release()
        for peer in clients + servers { #expect(peer.finish().last == "done") }
        let ours = { (line: ConnLine) in ports.contains { line.involves(port: $0) } }
        netmons[0].waitForConnLines(2 * perClient * ports.count, where: ours)
        usleep(300_000)  // the other instances read the same events at the same time
        for netmon in netmons { #expect(netmon.stop() == 0) }

        // The unfiltered run is the reference: every connection, both ends.
        let all = netmons[0].connLines(where: ours)
        #expect(all.count == 2 * perClient * ports.count, "\(all)")
        #expect(all.filter { $0.ip == 6 }.count == 2 * perClient, "only p3 is IPv6: \(all)")
        for (run, netmon) in zip(runs, netmons).dropFirst() {
            let shown = netmon.connLines(where: ours)
            let expected = all.filter(run.expected)
            #expect(!expected.isEmpty)
            #expect(shown.map(\.description).sorted() == expected.map(\.description).sorted(),
                    "conn \(run.arguments.joined(separator: " "))")
        }
    }

    @Test("a multi-threaded client: every thread's connect has the process id and name")
    func threads() throws {
        let port = ConnPorts.next()
        let (threads, perThread) = (4, 5)
        let go = GoFile()
        defer { go.remove() }
        let server = try ConnPeer("server", family: "4", address: "127.0.0.1", port: port, count: threads * perThread,
                                  name: "nmtsrv\(port)")
        defer { server.stop() }
        try server.waitReady()
        let client = try ConnPeer("client", family: "4", address: "127.0.0.1", port: port, count: perThread,
                                  name: "nmtcli\(port)", extra: [go.path, String(threads)])
        defer { client.stop() }
        let everything = try NetmonProcess.start(["conn", "--json", "-r", "connect"])
        let byPid = try NetmonProcess.start(["conn", "--json", "-p", String(client.pid)])
        go.release()
        let made = ConnPeer.localPorts(client.finish())
        #expect(server.finish().last == "done")
        #expect(made.count == threads * perThread)
        #expect(Set(made.map(\.tid)).count == threads, "the connects came from \(threads) threads")
        everything.waitForConnLines(threads * perThread) { $0.dport == port }
        byPid.waitForConnLines(threads * perThread) { $0.dport == port }
        #expect(everything.stop() == 0)
        #expect(byPid.stop() == 0)

        for netmon in [everything, byPid] {
            let lines = netmon.connLines { $0.dport == port }
            #expect(lines.count == threads * perThread)
            #expect(lines.allSatisfy { $0.pid == Int(client.pid) && $0.comm == "nmtcli\(port)" }, "\(lines)")
            #expect(lines.map(\.sport).sorted() == made.map(\.port).sorted())
        }
    }

    @Test("a burst of thousands of connections: nothing lost, matching the namespace's TCP counters")
    func burst() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let port = ConnPorts.next()
        let (threads, perThread) = (4, 2500)
        let total = threads * perThread
        let go = GoFile()
        defer { go.remove() }
        let server = try ConnPeer("server", family: "4", address: "127.0.0.1", port: port, count: total,
                                  name: "nmbsrv\(port)", namespace: pair.a)
        defer { server.stop() }
        try server.waitReady()
        let client = try ConnPeer("client", family: "4", address: "127.0.0.1", port: port, count: perThread,
                                  name: "nmbcli\(port)", extra: [go.path, String(threads)], namespace: pair.a)
        defer { client.stop() }

        let netmon = try NetmonProcess.start(["conn", "--json"])
        let activeBefore = try snmpCounter("Tcp", "ActiveOpens", namespace: pair.a)
        let passiveBefore = try snmpCounter("Tcp", "PassiveOpens", namespace: pair.a)
        let start = Date()
        go.release()
        let made = ConnPeer.localPorts(client.finish()).count
        #expect(server.finish().last == "done")
        let seconds = Date().timeIntervalSince(start)
        let active = try snmpCounter("Tcp", "ActiveOpens", namespace: pair.a) - activeBefore
        let passive = try snmpCounter("Tcp", "PassiveOpens", namespace: pair.a) - passiveBefore
        netmon.waitForConnLines(2 * total, timeout: 20) { $0.involves(port: port) }
        #expect(netmon.stop() == 0)

        let lines = netmon.connLines { $0.involves(port: port) }
        let connects = lines.filter { $0.direction == "connect" && $0.dport == port }.count
        let accepts = lines.filter { $0.direction == "accept" && $0.sport == port }.count
        let lost = netmon.lostEvents
        print("conn burst: \(made) connections in \(String(format: "%.2f", seconds)) s (\(Int(Double(made) / seconds))/s); printed \(connects) connect + \(accepts) accept, lost \(lost)")
        #expect(made == total)
        #expect(Int64(total) == active && Int64(total) == passive, "the namespace's ActiveOpens/PassiveOpens")
        #expect(connects + accepts + lost >= 2 * total)
        #expect(lost == 0, "the default ring buffer keeps up at this rate")
        #expect(connects == total && accepts == total)
        #expect(lines.allSatisfy { $0.comm == ($0.direction == "connect" ? "nmbcli\(port)" : "nmbsrv\(port)") })
    }

    @Test("connections reset before accept(): every accept line has the listener's port and the peer accept() returned")
    func resetBeforeAccept() throws {
        // What health checkers and scanners do: connect, then close with SO_LINGER 0 (a reset)
        // before the server calls accept(). The kernel keeps the reset socket in the accept queue
        // and accept() returns it, with the peer's address. Rounds of 1,000 stay below the
        // listener's backlog (somaxconn, 4096 by default).
        let port = ConnPorts.next()
        let (rounds, perRound) = (5, 1000)
        let total = rounds * perRound
        let all = try NetmonProcess.start(["conn", "--json", "-r", "accept"])
        defer { all.stop() }
        let byPort = try NetmonProcess.start(["conn", "--json", "-r", "accept", "-P", String(port)])
        defer { byPort.stop() }
        let accepted = try Self.resetBeforeAccept(family: "4", address: "127.0.0.1", port: port, rounds: rounds,
                                                  perRound: perRound, name: "nmrst\(port)")
        #expect(accepted.count == total)
        #expect(accepted.allSatisfy { $0.address == "127.0.0.1" && $0.local == port })
        let peerPorts = accepted.map(\.port).sorted()
        let ours = { (line: ConnLine) in line.comm == "nmrst\(port)" }
        all.waitForConnLines(total, where: ours)
        byPort.waitForConnLines(total, where: ours)
        #expect(all.stop() == 0)
        #expect(byPort.stop() == 0)
        for (run, netmon) in [("-r accept", all), ("-r accept -P \(port)", byPort)] {
            let lines = netmon.connLines(where: ours)
            #expect(lines.count == total, "conn \(run): \(lines.count) of \(total) lines, lost \(netmon.lostEvents)")
            let wrong = lines.filter { $0.sport != port || $0.saddr != "127.0.0.1" || $0.daddr != "127.0.0.1" || $0.ip != 4 }
            #expect(wrong.isEmpty, "conn \(run): \(wrong.count) lines with other endpoints, e.g. \(wrong.prefix(3))")
            let peers = lines.map(\.dport).sorted()
            #expect(peers == peerPorts, "conn \(run): \(Set(peerPorts).subtracting(peers).count) of the peers accept() returned are missing")
        }
    }

    /// Runs a python process named `name` that listens on `address`:`port`, and `rounds` times makes
    /// `perRound` connections to it that it resets (SO_LINGER 0) at once, then accepts them all.
    /// Returns what accept() gave it: the peer's address and port, and the accepted socket's own port.
    static func resetBeforeAccept(family: String, address: String, port: Int, rounds: Int, perRound: Int,
                                  name: String) throws -> [(address: String, port: Int, local: Int)] {
        let output = try sh("""
            /usr/bin/python3 -c '
            import ctypes, socket, struct
            ctypes.CDLL(None).prctl(15, b"\(name)", 0, 0, 0)
            family = socket.AF_INET6 if "\(family)" == "6" else socket.AF_INET
            server = socket.socket(family)
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("\(address)", \(port)))
            server.listen(4096)
            server.settimeout(5)
            linger = struct.pack("ii", 1, 0)
            for _ in range(\(rounds)):
                for _ in range(\(perRound)):
                    c = socket.socket(family)
                    c.connect(("\(address)", \(port)))
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    c.close()
                for _ in range(\(perRound)):
                    a, peer = server.accept()
                    print("accepted %s %d %d" % (peer[0], peer[1], a.getsockname()[1]))
                    a.close()
            '
            """)
        return output.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 4, parts[0] == "accepted", let peer = Int(parts[2]), let local = Int(parts[3]) else { return nil }
            return (String(parts[1]), peer, local)
        }
    }

    @Test("accepts come from syscalls:sys_exit_accept4/accept, through a tracefs mount the host does not see")
    func perSyscallTracepoints() throws {
        let hostMounts = try sh("grep -c ' - tracefs ' /proc/self/mountinfo", allowFailure: true)
        try checkAccepts(launcher: [], programs: ["conn_accept4_ex", "conn_accept_exi"], absent: ["conn_sys_exit"])
        #expect(try sh("grep -c ' - tracefs ' /proc/self/mountinfo", allowFailure: true) == hostMounts)
    }

    @Test("without CAP_SYS_ADMIN (no tracefs mount), accepts come from raw_syscalls:sys_exit")
    func sysExitFallback() throws {
        // Only CAP_BPF and CAP_PERFMON are needed; without CAP_SYS_ADMIN netmon cannot mount
        // tracefs, so on a host without it (this one) it takes the fallback.
        let hostHasTracefs = access("/sys/kernel/tracing/events", F_OK) == 0
        try checkAccepts(launcher: ["/usr/bin/setpriv", "--bounding-set", "-sys_admin"],
                         programs: hostHasTracefs ? ["conn_accept4_ex"] : ["conn_sys_exit_b"],
                         absent: hostHasTracefs ? ["conn_sys_exit"] : ["conn_accept"])
    }

    /// Runs `netmon conn --json -r accept` through `launcher`, checks which programs it loaded,
    /// and that an accept4(2) server and an accept(2) server each get exactly their lines.
    func checkAccepts(launcher: [String], programs: [String], absent: [String]) throws {
        // Earlier tests' netmons must be gone, so that what is loaded below is this run's.
        #expect(try connProgramsAfterUnload().isEmpty)
        let arguments = ["conn", "--json", "-r", "accept"]
        let netmon = NetmonProcess(arguments)
        if let tool = launcher.first {
            netmon.process.executableURL = URL(fileURLWithPath: tool)
            netmon.process.arguments = Array(launcher.dropFirst()) + [netmonPath()] + arguments
        }
        try netmon.launch()
        defer { netmon.stop() }
        let deadline = Date().addingTimeInterval(20)
        while !netmon.stderr.contains("Tracing") && netmon.process.isRunning && Date() < deadline { usleep(10_000) }
        // Program names are cut to 15 characters in the kernel.
        let loaded = try loadedPrograms(named: ["conn_"])
        for program in programs { #expect(loaded.contains { $0.contains(" name \(program)") }, "\(program): \(loaded)") }
        for program in absent { #expect(!loaded.contains { $0.contains(" name \(program)") }, "\(program): \(loaded)") }

        let ports = [ConnPorts.next(), ConnPorts.next()]
        let go = GoFile()
        defer { go.remove() }
        var peers: [ConnPeer] = []
        defer { peers.forEach { $0.stop() } }
        for (index, port) in ports.enumerated() {
            let server = try ConnPeer("server", family: "4", address: "127.0.0.1", port: port, count: 3,
                                      name: "nmtp\(port)", extra: index == 0 ? [] : ["plain"])
            try server.waitReady()
            peers.append(server)
            peers.append(try ConnPeer("client", family: "4", address: "127.0.0.1", port: port, count: 3,
                                      name: "nmtpc\(port)", extra: [go.path]))
        }
        go.release()
        for peer in peers { #expect(peer.finish().last == "done") }
        netmon.waitForConnLines(6) { ports.contains($0.sport) }
        #expect(netmon.stop() == 0)
        for (index, port) in ports.enumerated() {
            let lines = netmon.connLines { $0.sport == port }
            #expect(lines.count == 3, "\(index == 0 ? "accept4" : "accept"): \(lines)")
            #expect(lines.allSatisfy { $0.direction == "accept" && $0.pid == Int(peers[2 * index].pid) && $0.comm == "nmtp\(port)" })
        }
    }

    @Test("--count ends the run with status 0; usage errors exit 2; nothing stays loaded")
    func countAndCleanup() throws {
        let port = ConnPorts.next()
        let go = GoFile()
        defer { go.remove() }
        let server = try ConnPeer("server", family: "4", address: "127.0.0.1", port: port, count: 3, name: "nmcsrv\(port)")
        defer { server.stop() }
        try server.waitReady()
        let client = try ConnPeer("client", family: "4", address: "127.0.0.1", port: port, count: 3,
                                  name: "nmccli\(port)", extra: [go.path])
        defer { client.stop() }
        let netmon = try NetmonProcess.start(["conn", "-c", "2", "--json", "-r", "accept", "-P", String(port)])
        go.release()
        _ = client.finish()
        #expect(netmon.waitForExit(timeout: 10) == 0)
        #expect(netmon.stdoutLines.count == 2)
        #expect(netmon.connLines { $0.sport == port && $0.comm == "nmcsrv\(port)" }.count == 2)

        for bad in [["-P", "0"], ["-P", "80,70000"], ["-4", "-6"], ["-r", "both"]] {
            let run = try runNetmon(["conn"] + bad)
            #expect(run.status == 2, "conn \(bad)")
            #expect(run.stdout.isEmpty && run.stderr.hasPrefix("netmon: "), "conn \(bad)")
        }
        let loaded = try connProgramsAfterUnload()
        #expect(loaded.isEmpty, "\(loaded)")
    }

    /// The conn programs still loaded, once those of netmons that ended had time to go: the
    /// kernel frees a program in deferred work after its last fd closes.
    func connProgramsAfterUnload() throws -> [String] {
        var loaded = try loadedPrograms(named: ["conn_"])
        for _ in 0..<150 where !loaded.isEmpty {
            usleep(20_000)
            loaded = try loadedPrograms(named: ["conn_"])
        }
        return loaded
    }
}
