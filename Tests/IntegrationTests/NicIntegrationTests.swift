import Foundation
import Testing

/// `netmon nic` against the kernel's own device counters, on veth pairs and loopback devices in
/// network namespaces made for each test (so no other traffic of the machine interferes).
@Suite("nic integration", .serialized, .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct NicIntegrationTests {
    /// Sends `count` UDP datagrams of `size` bytes from each of `flows` sockets to `address`.
    static func udpTraffic(to address: String, flows: Int, count: Int, size: Int) -> String {
        """
        /usr/bin/python3 -c '
        import socket
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(\(flows))]
        for i in range(\(count)):
            for n, s in enumerate(socks):
                s.sendto(b"x" * \(size), ("\(address)", 20000 + n))
        '
        """
    }

    struct Totals {
        var txBytes: UInt64 = 0, txPackets: UInt64 = 0, rxBytes: UInt64 = 0, rxPackets: UInt64 = 0
        var txQueueBytes: [UInt64] = []
        var reports = 0
    }

    static func totals(ofJSON text: String) throws -> Totals {
        var totals = Totals()
        for line in text.split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let tx = try #require(object["tx"] as? [String: Any])
            let rx = try #require(object["rx"] as? [String: Any])
            let txTotal = try #require(tx["total"] as? [String: Any])
            let rxTotal = try #require(rx["total"] as? [String: Any])
            totals.txBytes += (txTotal["bytes"] as? UInt64) ?? 0
            totals.txPackets += (txTotal["packets"] as? UInt64) ?? 0
            totals.rxBytes += (rxTotal["bytes"] as? UInt64) ?? 0
            totals.rxPackets += (rxTotal["packets"] as? UInt64) ?? 0
            let queues = try #require(tx["queues"] as? [[String: Any]])
            if totals.txQueueBytes.isEmpty { totals.txQueueBytes = Array(repeating: 0, count: queues.count) }
            for (index, queue) in queues.enumerated() { totals.txQueueBytes[index] += (queue["bytes"] as? UInt64) ?? 0 }
            #expect(object["time"] is String && object["interval"] is Double)
            totals.reports += 1
        }
        return totals
    }

    /// Runs `netmon nic -n device --json -c reports` in `namespace` while `traffic` runs, and
    /// compares its sums with the device's statistics over the same window.
    func compareWithDeviceCounters(device: String, namespace: String, traffic: String, reports: Int = 3) throws -> Totals {
        let stats = "/sys/class/net/\(device)/statistics"
        let netmon = try NetmonProcess.start(["nic", "-n", device, "--json", "-c", "\(reports)", "-i", "1"], namespace: namespace)
        let before = try ["tx_bytes", "tx_packets", "rx_bytes", "rx_packets"].map { try counter("\(stats)/\($0)", namespace: namespace) }
        try sh(traffic)
        #expect(netmon.waitForExit() == 0, "\(netmon.stderr)")
        let after = try ["tx_bytes", "tx_packets", "rx_bytes", "rx_packets"].map { try counter("\(stats)/\($0)", namespace: namespace) }
        let totals = try Self.totals(ofJSON: netmon.stdout)
        #expect(totals.reports == reports)

        // The windows differ only by the moments between reading sysfs and netmon's first and last
        // readings; in a private namespace only stray IPv6 control packets can fall in between.
        func close(_ measured: UInt64, _ truth: UInt64, slack: UInt64) -> Bool {
            let difference = measured > truth ? measured - truth : truth - measured
            return difference <= max(truth / 100, slack)
        }
        let truth = zip(after, before).map { $0 - $1 }
        #expect(truth[1] > 0)
        #expect(close(totals.txBytes, truth[0], slack: 1000), "tx bytes \(totals.txBytes) vs \(truth[0])")
        #expect(close(totals.txPackets, truth[1], slack: 5), "tx packets \(totals.txPackets) vs \(truth[1])")
        #expect(close(totals.rxBytes, truth[2], slack: 1000), "rx bytes \(totals.rxBytes) vs \(truth[2])")
        #expect(close(totals.rxPackets, truth[3], slack: 5), "rx packets \(totals.rxPackets) vs \(truth[3])")
        return totals
    }

    @Test("veth with 4 queues: totals match the device counters, and several TX queues carry traffic")
    func vethQueues() throws {
        let pair = try VethPair(queues: 4)
        defer { try? pair.remove() }
        // 16 UDP sockets are 16 flows, hashed over the 4 TX queues; B answers each with ICMP,
        // which is RX traffic on va.
        let totals = try compareWithDeviceCounters(
            device: "va", namespace: pair.a,
            traffic: pair.inA(Self.udpTraffic(to: pair.addressB, flows: 16, count: 200, size: 1000)))
        #expect(totals.txPackets >= 3200)
        #expect(totals.txQueueBytes.count == 4)
        #expect(totals.txQueueBytes.filter { $0 > 0 }.count >= 2, "per-queue TX bytes: \(totals.txQueueBytes)")
    }

    @Test("loopback: totals match lo's counters")
    func loopback() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        _ = try compareWithDeviceCounters(
            device: "lo", namespace: pair.a,
            traffic: pair.inA(Self.udpTraffic(to: "127.0.0.1", flows: 4, count: 500, size: 700)))
    }

    @Test("an interface of the same name in another namespace is not counted")
    func otherNamespaceIgnored() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        // netmon watches lo of namespace A while all the traffic is on lo of namespace B.
        let netmon = try NetmonProcess.start(["nic", "-n", "lo", "--json", "-c", "2", "-i", "0.5"], namespace: pair.a)
        try sh(pair.inB(Self.udpTraffic(to: "127.0.0.1", flows: 2, count: 500, size: 500)))
        #expect(netmon.waitForExit() == 0)
        let totals = try Self.totals(ofJSON: netmon.stdout)
        #expect(totals.reports == 2 && totals.txPackets == 0 && totals.rxPackets == 0)
    }

    @Test("the table shows every queue of the device, and a Total row, for TX and RX")
    func table() throws {
        let pair = try VethPair(queues: 3)
        defer { try? pair.remove() }
        let result = try runNetmon(["nic", "-n", "va", "-c", "1", "-i", "0.2"], namespace: pair.a)
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[1] == "TX" && lines[2] == " QueueID   avg_size        BPS        PPS")
        #expect(lines[3...5].map { $0.split(separator: " ").first } == ["0", "1", "2"])
        #expect(lines[6].hasPrefix(" Total"))
        #expect(lines[8] == "RX" && lines[13].hasPrefix(" Total"))
        #expect(lines[14].allSatisfy { $0 == "-" })
        #expect(result.stderr == "Tracing... Hit Ctrl-C to end.\n")
    }

    @Test("--json -c 3 prints exactly three JSON lines and nothing else")
    func jsonCount() throws {
        let result = try runNetmon(["nic", "-n", "lo", "--json", "-c", "3", "-i", "0.2"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        for line in lines {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) is [String: Any])
        }
    }

    @Test("a nonexistent interface is a usage error")
    func noSuchInterface() throws {
        let result = try runNetmon(["nic", "-n", "eth9nope"])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("netmon: no such interface 'eth9nope'\n"))
    }

    @Test("SIGINT and SIGTERM end it with status 0 and leave no program loaded", arguments: [SIGINT, SIGTERM])
    func stopLeavesNothing(signal: Int32) throws {
        let netmon = try NetmonProcess.start(["nic", "-n", "lo"])
        let ours = try netmon.programIDs()
        let named = try loadedPrograms(named: ["nic_tx_btf", "nic_rx_btf"]).filter { line in
            ours.contains { line.hasPrefix("\($0): ") }
        }
        #expect(named.count == 2, "both attached while running: \(named)")
        #expect(netmon.stop(signal: signal) == 0)
        #expect(try programsStillLoaded(ours).isEmpty)
    }

    @Test("| head -1 ends it quietly with status 0")
    func closedPipe() throws {
        let output = try sh("""
            bash -c '"\(netmonPath())" nic -n lo -i 0.1 2>/tmp/netmon-head-$$.err | head -1; echo "status=${PIPESTATUS[0]}"; grep -v Tracing /tmp/netmon-head-$$.err; rm -f /tmp/netmon-head-$$.err'
            """)
        let lines = output.split(separator: "\n")
        #expect(lines.count == 2, "\(output)")
        #expect(lines.last == "status=0")
    }

    @Test("an interface that disappears while watched: said, status 1")
    func interfaceDisappears() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let netmon = try NetmonProcess.start(["nic", "-n", "va", "-i", "0.2", "--json"], namespace: pair.a)
        try sh(pair.inA("ip link del va"))
        #expect(netmon.waitForExit(timeout: 10) == 1)
        #expect(netmon.stderr.contains("netmon: interface 'va' disappeared"))
    }
}
