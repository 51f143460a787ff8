import Foundation
import Testing

/// `netmon inerrs` names the process that holds the socket, also for servers and connections that
/// existed before netmon started. Ground truth: the pids the server processes print themselves
/// (which process accepted which client port), the segments the test crafted, the kernel's TCP
/// counters and the memory the kernel charges for netmon's maps (/proc/PID/fdinfo).
/// Part of the serialized inerrs suite: the churn must not share the two CPUs with other inerrs runs.
extension InerrsIntegrationTests {
    @Test("a server and connection made before netmon: every line names the server; -p shows exactly those")
    func serverBeforeNetmon() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let port = 9000 + Int.random(in: 0..<500)
        let server = try InerrsPeers.PreforkServer(namespace: pair.a, address: pair.addressA, port: port, workers: 0)
        defer { server.peer.finish() }
        // One connection for a drop before the kernel's socket lookup, one for a drop after it.
        let early = try InerrsPeers.connect("csum", count: 2, namespace: pair.b, interface: "vb",
                                            address: server.address, port: port)
        defer { early.peer.finish() }
        let late = try InerrsPeers.connect("seq", count: 2, namespace: pair.b, interface: "vb",
                                           address: server.address, port: port)
        defer { late.peer.finish() }
        #expect(try server.acceptor(of: early.clientPort) == server.pid)
        #expect(try server.acceptor(of: late.clientPort) == server.pid)

        // Every way this kernel offers to keep holders (socket-local storage, or the index only).
        let variants = try KernelVariants.available("inerrs.owners")
        #expect(!variants.isEmpty)
        let runs = try variants.map { variant in
            let environment = KernelVariants.forcing("inerrs.owners", variant)
            return (variant,
                    all: try NetmonProcess.start(["inerrs", "--json"], environment: environment),
                    byPID: try NetmonProcess.start(["inerrs", "--json", "-p", String(server.pid)], environment: environment))
        }
        defer { for run in runs { run.all.stop(); run.byPID.stop() } }
        try InerrsPeers.fire(early.peer)
        try InerrsPeers.fire(late.peer)
        usleep(300_000)
        for (variant, all, byPID) in runs {
            #expect(all.stop() == 0 && byPID.stop() == 0, "\(variant)")
            let lines = InerrsLine.parse(all, saddr: pair.addressB, daddr: pair.addressA, port: port)
            #expect(lines.filter { $0.sport == early.clientPort }.map(\.reason) == ["TCP_CSUM", "TCP_CSUM"], "\(variant)")
            #expect(lines.filter { $0.sport == late.clientPort }.map(\.reason) == ["TCP_INVALID_SEQUENCE", "TCP_INVALID_SEQUENCE"],
                    "\(variant)")
            #expect(lines.count == 4, "\(variant): \(lines)")
            for line in lines {
                #expect(line.pid == Int(server.pid) && line.comm == "python3", "\(variant) owner: \(line.pid) \(line.comm)")
            }
            // -p: these four lines and nothing else (no other process's segments, no header).
            let selected = byPID.stdoutLines
            #expect(selected.count == 4, "\(variant): \(selected)")
            #expect(selected.compactMap(InerrsLine.init).filter { $0.daddr == pair.addressA && $0.dport == port }.count == 4)
        }
    }

    @Test("a pre-fork server: the line names the worker that holds the connection, not the listening parent")
    func preforkWorkers() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let port = 9500 + Int.random(in: 0..<500)
        let server = try InerrsPeers.PreforkServer(namespace: pair.a, address: pair.addressA, port: port, workers: 2)
        defer { server.peer.finish() }
        // Accepted before netmon starts (found by the start-up walk of every process's files)…
        let before = try InerrsPeers.connect("csum", count: 2, namespace: pair.b, interface: "vb",
                                             address: server.address, port: port)
        defer { before.peer.finish() }
        let firstWorker = try server.acceptor(of: before.clientPort)

        let all = try NetmonProcess.start(["inerrs", "--json"])
        defer { all.stop() }
        let byParent = try NetmonProcess.start(["inerrs", "--json", "-p", String(server.pid)])
        defer { byParent.stop() }
        let byFirstWorker = try NetmonProcess.start(["inerrs", "--json", "-p", String(firstWorker)])
        defer { byFirstWorker.stop() }
        // Every way this kernel offers to see accept() return (the preferred one is `all`'s).
        let accepts = try KernelVariants.available("inerrs.accept").dropFirst().map { variant in
            (variant, try NetmonProcess.start(["inerrs", "--json"], environment: KernelVariants.forcing("inerrs.accept", variant)))
        }
        defer { for (_, netmon) in accepts { netmon.stop() } }
        // …and one accepted while netmon runs (seen at accept()'s exit), by the other worker: the
        // first is busy with its connection.
        let after = try InerrsPeers.connect("csum", count: 2, namespace: pair.b, interface: "vb",
                                            address: server.address, port: port)
        defer { after.peer.finish() }
        let secondWorker = try server.acceptor(of: after.clientPort)
        #expect(Set([server.pid, firstWorker, secondWorker]).count == 3)
        try InerrsPeers.fire(before.peer)
        try InerrsPeers.fire(after.peer)
        usleep(300_000)
        for netmon in [all, byParent, byFirstWorker] + accepts.map(\.1) { #expect(netmon.stop() == 0) }

        for (variant, netmon) in [("preferred", all)] + accepts {
            let lines = InerrsLine.parse(netmon, saddr: pair.addressB, daddr: pair.addressA, port: port)
            let first = lines.filter { $0.sport == before.clientPort }, second = lines.filter { $0.sport == after.clientPort }
            #expect(first.count == 2 && second.count == 2, "\(variant): \(lines)")
            #expect(first.allSatisfy { $0.pid == Int(firstWorker) && $0.comm == "python3" }, "\(variant): \(first)")
            #expect(second.allSatisfy { $0.pid == Int(secondWorker) && $0.comm == "python3" }, "\(variant): \(second)")
        }
        #expect(InerrsLine.parse(byParent, saddr: pair.addressB, daddr: pair.addressA, port: port).isEmpty)
        #expect(InerrsLine.parse(byFirstWorker, saddr: pair.addressB, daddr: pair.addressA, port: port).map(\.sport)
                == [before.clientPort, before.clientPort])
    }

    @Test("50,000 short connections elsewhere: the watched connection keeps its owner, map memory stays flat")
    func churn() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let port = 10000 + Int.random(in: 0..<500)
        let server = try InerrsPeers.PreforkServer(namespace: pair.a, address: pair.addressA, port: port, workers: 0)
        defer { server.peer.finish() }
        let watched = try InerrsPeers.connect("csum", count: 2, namespace: pair.b, interface: "vb",
                                              address: server.address, port: port)
        defer { watched.peer.finish() }

        let netmon = try NetmonProcess.start(["inerrs", "--json"])
        defer { netmon.stop() }
        let memoryBefore = try MapMemory(of: netmon.process.processIdentifier)
        let opensBefore = try snmpCounter("Tcp", "PassiveOpens", namespace: pair.a)
        let churn = try sh(pair.inA("/usr/bin/python3 \(InerrsPeers.script) churn 127.0.0.1 \(port + 1) 50000"))
        #expect(churn.contains("\"churned\": 50000"))
        #expect(try snmpCounter("Tcp", "PassiveOpens", namespace: pair.a) - opensBefore >= 50_000)
        let memoryAfter = try MapMemory(of: netmon.process.processIdentifier)
        try InerrsPeers.fire(watched.peer)
        usleep(300_000)
        #expect(netmon.stop() == 0)

        let lines = InerrsLine.parse(netmon, saddr: pair.addressB, daddr: pair.addressA, port: port)
        #expect(lines.count == 2 && lines.allSatisfy { $0.pid == Int(server.pid) && $0.reason == "TCP_CSUM" },
                "server \(server.pid): \(lines.map { "\($0.pid) \($0.comm) \($0.reason) \($0.state)" })")
        // 50,000 sockets remembered and not forgotten would take megabytes; 64 KiB is allocator noise.
        print("inerrs map memory: \(memoryBefore.bytes) bytes before 50,000 connections, \(memoryAfter.bytes) after (\(memoryAfter.maps) maps)")
        #expect(memoryAfter.bytes <= memoryBefore.bytes + 64 * 1024, "before \(memoryBefore.bytes), after \(memoryAfter.bytes)")
        #expect(memoryAfter.bytes <= 2 * 1024 * 1024)
    }

    @Test("IPv6 with extension headers before TCP: the line appears with the right reason")
    func ipv6ExtensionHeaders() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let port = 10500 + Int.random(in: 0..<500)
        let server = try InerrsPeers.PreforkServer(namespace: pair.a, address: pair.address6A, port: port, workers: 0)
        defer { server.peer.finish() }
        let netmon = try NetmonProcess.start(["inerrs", "--json", "-6"])
        defer { netmon.stop() }
        let csumBefore = try snmpCounter("Tcp", "InCsumErrors", namespace: pair.a)
        let (injector, clientPort) = try InerrsPeers.inject("csum-ext", count: 2, namespace: pair.b, interface: "vb",
                                                           address: server.address, port: port)
        defer { injector.finish() }
        usleep(300_000)
        #expect(try snmpCounter("Tcp", "InCsumErrors", namespace: pair.a) - csumBefore == 2)
        #expect(netmon.stop() == 0)
        let lines = InerrsLine.parse(netmon, saddr: pair.address6B, daddr: pair.address6A, port: port)
        #expect(lines.count == 2, "\(netmon.stdoutLines)")
        for line in lines {
            #expect(line.reason == "TCP_CSUM" && line.ip == 6 && line.sport == clientPort && line.state == "ESTABLISHED")
            #expect(line.pid == Int(server.pid))
        }
    }
}

/// The memory the kernel charges for the BPF maps a process has open (`memlock:` of each map fd
/// in /proc/PID/fdinfo), summed.
struct MapMemory {
    let bytes: Int
    let maps: Int

    init(of pid: Int32) throws {
        let directory = "/proc/\(pid)/fdinfo"
        var bytes = 0, maps = 0
        for fd in try FileManager.default.contentsOfDirectory(atPath: directory) {
            guard let info = try? String(contentsOfFile: "\(directory)/\(fd)", encoding: .utf8),
                  info.contains("map_id:") else { continue }
            for line in info.split(separator: "\n") where line.hasPrefix("memlock:") {
                bytes += Int(line.dropFirst("memlock:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                maps += 1
            }
        }
        self.bytes = bytes
        self.maps = maps
    }
}
