import Foundation
import Testing

/// `netmon serve` against ground truth: device counters, a real Prometheus, the node exporter,
/// promtool, and hostile clients. Each test runs netmon (and the other daemons) inside a network
/// namespace of its own, so ports are free and no other traffic interferes.
@Suite("serve integration", .serialized, .connExclusive, .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct ServeIntegrationTests {
    static func udp(to address: String, count: Int, size: Int) -> String {
        """
        /usr/bin/python3 -c '
        import socket
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(8)]
        for i in range(\(count)):
            for n, s in enumerate(socks):
                s.sendto(b"x" * \(size), ("\(address)", 20000 + n))
        '
        """
    }

    static func deviceCounter(_ device: String, _ statistic: String, _ namespace: String) throws -> Double {
        Double(try counter("/sys/class/net/\(device)/statistics/\(statistic)", namespace: namespace))
    }

    /// In a private namespace only stray IPv6 control packets can differ between two readings.
    static func close(_ measured: Double, _ truth: Double) -> Bool {
        abs(measured - truth) <= max(truth / 100, 1000)
    }

    @Test("nic: per-queue deltas sum to the device counters' deltas, for an interface present at start and one created later")
    func nicAgainstDeviceCounters() throws {
        let pair = try VethPair(queues: 4)
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        defer { serve.netmon.stop() }

        let first = try serve.samples()
        #expect(first.series("netmon_nic_queue_bytes_total").filter { $0.contains("device=\"va\"") && $0.contains("direction=\"tx\"") }.count == 4,
                "every queue of va, idle ones included")
        let before = try ["tx_bytes", "tx_packets", "rx_bytes", "rx_packets"].map { try Self.deviceCounter("va", $0, pair.a) }
        try sh(pair.inA(Self.udp(to: pair.addressB, count: 300, size: 1000)))
        let after = try ["tx_bytes", "tx_packets", "rx_bytes", "rx_packets"].map { try Self.deviceCounter("va", $0, pair.a) }
        let second = try serve.samples()
        let va = ["device=\"va\""]
        for (index, (name, direction)) in [("netmon_nic_queue_bytes_total", "tx"), ("netmon_nic_queue_packets_total", "tx"),
                                            ("netmon_nic_queue_bytes_total", "rx"), ("netmon_nic_queue_packets_total", "rx")].enumerated() {
            let labels = va + ["direction=\"\(direction)\""]
            let delta = second.sum(name, labels) - first.sum(name, labels)
            #expect(Self.close(delta, after[index] - before[index]), "\(name) \(direction): \(delta) vs device \(after[index] - before[index])")
        }
        #expect(after[1] - before[1] >= 2400)

        // An interface created while netmon runs is counted from its first packet.
        try sh(pair.inA("sh -c 'ip link add vx type veth peer name vy && ip addr add 10.99.0.1/24 dev vx && ip link set vx up && ip link set vy up'"))
        let laterBefore = try Self.deviceCounter("vx", "tx_bytes", pair.a)
        let scrapedBefore = try serve.samples().sum("netmon_nic_queue_bytes_total", ["device=\"vx\"", "direction=\"tx\""])
        try sh(pair.inA(Self.udp(to: "10.99.0.2", count: 100, size: 500)))
        let laterDelta = try Self.deviceCounter("vx", "tx_bytes", pair.a) - laterBefore
        let scraped = try serve.samples().sum("netmon_nic_queue_bytes_total", ["device=\"vx\"", "direction=\"tx\""])
        #expect(laterDelta > 0 && Self.close(scraped - scrapedBefore, laterDelta), "vx: \(scraped - scrapedBefore) vs \(laterDelta)")

        // Removed: its series stay, with their values (counters never go backwards).
        try sh(pair.inA("ip link del vx"))
        let gone = try serve.samples()
        #expect(gone.sum("netmon_nic_queue_bytes_total", ["device=\"vx\"", "direction=\"tx\""]) >= scraped)
        #expect(gone["netmon_lost_events_total{source=\"nic\"}"] == 0)
    }

    @Test("-n: only the named interfaces")
    func onlyNamedInterfaces() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(["-n", "lo"], namespace: pair.a)
        defer { serve.netmon.stop() }
        let samples = try serve.samples()
        #expect(samples.series("netmon_nic_queue_bytes_total") == [
            "netmon_nic_queue_bytes_total{device=\"lo\",queue=\"0\",direction=\"tx\"}",
            "netmon_nic_queue_bytes_total{device=\"lo\",queue=\"0\",direction=\"rx\"}",
        ].sorted())
    }

    @Test("promtool check metrics is clean on a live scrape; OpenMetrics when asked for it")
    func promtoolClean() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        defer { serve.netmon.stop() }
        try sh(pair.inA(Self.udp(to: pair.addressB, count: 10, size: 100)))
        let path = "/tmp/serve-promtool-\(getpid()).txt"
        defer { unlink(path) }
        try serve.scrape().write(toFile: path, atomically: true, encoding: .utf8)
        let lint = try sh("promtool check metrics < \(path) 2>&1; echo status=$?")
        #expect(lint == "status=0\n", "\(lint)")

        let openMetrics = try serve.scrape(accept: "application/openmetrics-text;version=1.0.0")
        #expect(openMetrics.hasSuffix("# EOF\n"))
        #expect(openMetrics.contains("# TYPE netmon_nic_queue_bytes counter\n"))
        #expect(openMetrics.contains("# TYPE netmon_build info\n"))
        let headers = try sh(serve.inNamespace("curl -s -o /dev/null -D - -H 'Accept: application/openmetrics-text' http://127.0.0.1:\(serve.port)/metrics"))
        #expect(headers.contains("Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8"))
        let classic = try sh(serve.inNamespace("curl -s -o /dev/null -D - http://127.0.0.1:\(serve.port)/metrics"))
        #expect(classic.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"))
    }

    @Test("a real Prometheus scrapes it every second and has its series with netmon's values")
    func prometheusScrapes() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        defer { serve.netmon.stop() }
        let directory = "/tmp/serve-prometheus-\(getpid())"
        try sh("rm -rf \(directory) && mkdir -p \(directory)/data")
        defer { _ = try? sh("rm -rf \(directory)") }
        try """
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: netmon
                static_configs:
                  - targets: ['127.0.0.1:\(serve.port)']
            """.write(toFile: "\(directory)/prometheus.yml", atomically: true, encoding: .utf8)
        // The namespace is the test's own, so any port is free in it.
        let prometheus = try Daemon(namespace: pair.a, ["prometheus", "--config.file=\(directory)/prometheus.yml",
                                                        "--storage.tsdb.path=\(directory)/data",
                                                        "--web.listen-address=127.0.0.1:9090"],
                                    log: "\(directory)/log")
        defer { prometheus.stop() }

        func query(_ expression: String) throws -> [(labels: [String: String], value: Double)] {
            let text = try sh(pair.inA("curl -sf --max-time 5 http://127.0.0.1:9090/api/v1/query --data-urlencode 'query=\(expression)'"), allowFailure: true)
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                  let data = object["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else { return [] }
            return result.compactMap { series in
                guard let labels = series["metric"] as? [String: String], let value = series["value"] as? [Any],
                      let text = value.last as? String, let number = Double(text) else { return nil }
                return (labels, number)
            }
        }

        #expect(try eventually(timeout: 30) { try query("up{job=\"netmon\"}").first?.value == 1 },
                "Prometheus never scraped netmon: \((try? String(contentsOfFile: "\(directory)/log", encoding: .utf8)) ?? "")")
        try sh(pair.inA(Self.udp(to: pair.addressB, count: 200, size: 800)))
        // Once traffic stopped, Prometheus' latest sample equals what netmon itself says.
        let expression = "sum(netmon_nic_queue_bytes_total{device=\"va\",direction=\"tx\"})"
        var direct = 0.0, stored = -1.0
        let agreed = try eventually(timeout: 20) {
            direct = try serve.samples().sum("netmon_nic_queue_bytes_total", ["device=\"va\"", "direction=\"tx\""])
            stored = try query(expression).first?.value ?? -1
            return direct == stored
        }
        #expect(agreed, "Prometheus \(stored) vs netmon \(direct)")
        #expect(direct >= 200 * 8 * 800)
        let build = try query("netmon_build_info")
        #expect(build.first?.labels["version"] != nil)
        let families = try query("count by (__name__) ({job=\"netmon\"})").compactMap { $0.labels["__name__"] }
        #expect(Set(families).isSuperset(of: ["netmon_nic_queue_bytes_total", "netmon_nic_queue_packets_total",
                                              "netmon_lost_events_total", "netmon_build_info", "process_cpu_seconds_total",
                                              "netmon_tcp_rejected_segments_total", "netmon_comm_folded_total"]))
        // Prometheus' own connection to netmon: made by prometheus, accepted by netmon.
        #expect(try eventually { try query("netmon_tcp_connections_total{direction=\"accept\",comm=\"netmon\"}").first?.value ?? 0 >= 1 })
        #expect(try eventually { try query("netmon_tcp_bytes_total{direction=\"tx\",comm=\"netmon\"}").first?.value ?? 0 > 0 })
    }

    @Test("the node exporter's node_network_transmit_bytes_total moves as netmon's per-queue sum on the same interface")
    func nodeExporterAgrees() throws {
        let pair = try VethPair(queues: 2)
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        defer { serve.netmon.stop() }
        let log = "/tmp/serve-node-exporter-\(getpid()).log"
        defer { unlink(log) }
        let exporter = try Daemon(namespace: pair.a, ["prometheus-node-exporter", "--web.listen-address=127.0.0.1:9100",
                                                      "--collector.disable-defaults", "--collector.netdev"], log: log)
        defer { exporter.stop() }
        func node() throws -> Samples { Samples(try sh(pair.inA("curl -sf --max-time 5 http://127.0.0.1:9100/metrics"))) }
        #expect(try eventually { (try? node())?["node_network_transmit_bytes_total{device=\"va\"}"] != nil })

        let nodeBefore = try node(), netmonBefore = try serve.samples()
        try sh(pair.inA(Self.udp(to: pair.addressB, count: 300, size: 1200)))
        let nodeAfter = try node(), netmonAfter = try serve.samples()
        for (nodeName, direction) in [("node_network_transmit_bytes_total", "tx"), ("node_network_receive_bytes_total", "rx")] {
            let series = "\(nodeName){device=\"va\"}"
            let nodeDelta = try #require(nodeAfter[series]) - (try #require(nodeBefore[series]))
            let labels = ["device=\"va\"", "direction=\"\(direction)\""]
            let netmonDelta = netmonAfter.sum("netmon_nic_queue_bytes_total", labels) - netmonBefore.sum("netmon_nic_queue_bytes_total", labels)
            #expect(Self.close(netmonDelta, nodeDelta), "\(direction): netmon \(netmonDelta) vs node exporter \(nodeDelta)")
        }
    }

    @Test("garbage, a 1 MB header, a silent client and 50 concurrent scrapes: it keeps serving, memory stays flat")
    func hostileClients() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        defer { serve.netmon.stop() }
        let script = """
            /usr/bin/python3 -c '
            import socket, threading
            port = \(serve.port)
            def talk(data):
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                try:
                    s.sendall(data)
                except OSError:
                    pass
                out = b""
                try:
                    while True:
                        chunk = s.recv(65536)
                        if not chunk: break
                        out += chunk
                except OSError:
                    pass
                s.close()
                return out
            silent = socket.create_connection(("127.0.0.1", port))
            print("garbage", talk(b"\\x16\\x03\\x01 hello\\r\\n\\r\\n")[:12].decode())
            print("big", talk(b"GET /metrics HTTP/1.1\\r\\nHost: a\\r\\nX: " + b"a" * (1 << 20) + b"\\r\\n\\r\\n")[:12].decode() or "reset")
            results = []
            def scrape():
                reply = talk(b"GET /metrics HTTP/1.1\\r\\nHost: a\\r\\nConnection: close\\r\\n\\r\\n")
                results.append(reply.startswith(b"HTTP/1.1 200") and b"netmon_build_info" in reply)
            for round in range(\(5)):
                threads = [threading.Thread(target=scrape) for _ in range(50)]
                [t.start() for t in threads]
                [t.join() for t in threads]
            print("scrapes", sum(results), len(results))
            silent.close()
            '
            """
        _ = try sh(pair.inA(script))  // warm-up: the first round's allocations
        let warm = serve.residentKiB
        let output = try sh(pair.inA(script))
        let after = serve.residentKiB
        #expect(output.contains("garbage HTTP/1.1 400"), "\(output)")
        #expect(output.contains("big HTTP/1.1 431") || output.contains("big reset"), "\(output)")
        #expect(output.contains("scrapes 250 250"), "\(output)")
        #expect(after - warm < 2048, "RSS grew from \(warm) KiB to \(after) KiB")
        #expect(try serve.scrape().contains("netmon_build_info"))
        #expect(serve.netmon.stop() == 0)
    }

    @Test("SIGTERM and SIGINT end it with status 0 and nothing on stderr after the start", arguments: [SIGTERM, SIGINT])
    func stops(signal: Int32) throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        _ = try serve.scrape()
        #expect(serve.netmon.stop(signal: signal) == 0)
        #expect(serve.netmon.stderr.hasSuffix("Tracing... Hit Ctrl-C to end.\n"), "\(serve.netmon.stderr)")
    }

    @Test("a port in use: one line, status 1; a bad address: usage error")
    func listenFailures() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let first = try ServeUnderTest(namespace: pair.a)
        defer { first.netmon.stop() }
        let second = try runNetmon(["serve", "--listen", "127.0.0.1:\(first.port)"], namespace: pair.a)
        #expect(second.status == 1)
        #expect(second.stderr == "netmon: cannot serve on 127.0.0.1:\(first.port): cannot listen on 127.0.0.1:\(first.port): Address already in use\n")
        let bad = try runNetmon(["serve", "--listen", "localhost:80"])
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("netmon: invalid --listen address: invalid IPv4 address 'localhost'"))
    }
}
