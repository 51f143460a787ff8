import CNetmonBPF
import NetmonCLI
import NetmonJobs
import Testing
@testable import ServeCommand

@Suite("serve: exposition formats and options")
struct ExpositionTests {
    static let families = [
        MetricFamily("netmon_tcp_bytes", .counter, help: "TCP bytes\nby process",
                     samples: [Sample([Label("direction", "tx"), Label("family", "4"), Label("comm", "a\"b\\c\nd")], UInt64(18_446_744_073_709_551_615))]),
        MetricFamily("netmon_build", .info, help: "version", samples: [Sample([Label("version", "1")], UInt64(1))]),
        MetricFamily("process_resident_memory_bytes", .gauge, help: "rss", samples: [Sample([], 1.5e6), Sample([], 0.25)]),
    ]

    @Test("classic text format: _total and _info in family names, escaped help and labels, exact integers")
    func text() {
        #expect(Exposition.text.render(Self.families) == """
            # HELP netmon_tcp_bytes_total TCP bytes\\nby process
            # TYPE netmon_tcp_bytes_total counter
            netmon_tcp_bytes_total{direction="tx",family="4",comm="a\\"b\\\\c\\nd"} 18446744073709551615
            # HELP netmon_build_info version
            # TYPE netmon_build_info gauge
            netmon_build_info{version="1"} 1
            # HELP process_resident_memory_bytes rss
            # TYPE process_resident_memory_bytes gauge
            process_resident_memory_bytes 1500000
            process_resident_memory_bytes 0.25

            """)
        #expect(Exposition.text.contentType == "text/plain; version=0.0.4; charset=utf-8")
    }

    @Test("OpenMetrics: families without the suffix, the info type, and # EOF")
    func openMetrics() {
        let rendered = Exposition.openMetrics.render(Self.families)
        #expect(rendered.hasPrefix("# HELP netmon_tcp_bytes TCP bytes\\nby process\n# TYPE netmon_tcp_bytes counter\nnetmon_tcp_bytes_total{"))
        #expect(rendered.contains("# TYPE netmon_build info\nnetmon_build_info{version=\"1\"} 1\n"))
        #expect(rendered.hasSuffix("# EOF\n"))
        #expect(Exposition.openMetrics.contentType == "application/openmetrics-text; version=1.0.0; charset=utf-8")
    }

    @Test("options: default listen address, -n lists, bad input is a usage error")
    func options() throws {
        let defaults = try ServeCommand(parsing: [])
        #expect(defaults.listen.description == ":10393")
        #expect(defaults.interfaces == nil)
        let given = try ServeCommand(parsing: ["--listen", "[::1]:0", "-n", "eth0,lo", "--verbose"])
        #expect(given.listen.description == "[::1]:0")
        #expect(given.interfaces == ["eth0", "lo"])
        #expect(given.common.verbose)
        #expect(throws: UsageError("invalid --listen address: invalid port 'x' in '1.2.3.4:x': a number from 0 to 65535", command: "serve")) {
            try ServeCommand(parsing: ["--listen", "1.2.3.4:x"])
        }
        #expect(throws: UsageError("invalid interface name '' in -n: 1 to 15 characters, no '/' or space", command: "serve")) {
            try ServeCommand(parsing: ["-n", "eth0,"])
        }
        #expect(throws: UsageError.self) { try ServeCommand(parsing: ["--json"]) }
        #expect(ServeCommand.help.text.contains("Default port: 10393"))
    }
}

@Suite("serve: embedded objects")
struct ServeObjectTests {
    @Test("nic: the all-interfaces map, its overflow counter and the mode flag serve relies on")
    func nicAllInterfaces() throws {
        let spec = try EmbeddedObject.open("nic")
        #expect(Set(spec.mapNames).isSuperset(of: ["nic_all_queues", "nic_uncounted"]))
        try spec.setConstant("nic_config", to: nic_config(ifindex: 0, netns_inum: 1, counts_link_header: 0, all_interfaces: 1))
        try spec.setMaxEntries(16, map: "nic_all_queues")
    }

    @Test("conn and inerrs: the count maps serve reads and the count_only flag")
    func countMaps() throws {
        let conn = try EmbeddedObject.open("conn")
        #expect(Set(conn.mapNames).isSuperset(of: ["conn_counts_0", "conn_counts_1", "conn_counts_generation", "conn_counts_in_flight", "conn_counts_overflow"]))
        var connConfig = conn_config()
        connConfig.count_only = 1
        try conn.setConstant("conn_config", to: connConfig)
        let inerrs = try EmbeddedObject.open("inerrs")
        #expect(inerrs.mapNames.contains("inerrs_counts"))
        var inerrsConfig = inerrs_config()
        inerrsConfig.count_only = 1
        try inerrs.setConstant("inerrs_config", to: inerrsConfig)
        // Every slot a reason below the limit can take, in both families, is in the array.
        #expect(inerrs_count_slot(UInt32(INERRS_REASON_LIMIT) - 1, 6) == UInt32(INERRS_COUNT_SLOTS) - 1)
        var slots: Set<UInt32> = []
        for direction in [CONN_DIRECTION_CONNECT, CONN_DIRECTION_ACCEPT] {
            for version in [CONN_IP_V4, CONN_IP_V6] {
                slots.insert(conn_count_overflow_slot(UInt8(direction), UInt8(version)))
            }
        }
        #expect(slots == Set(0..<UInt32(CONN_COUNT_OVERFLOW_SLOTS)))
    }
}

@Suite("serve: label escaping")
struct LabelEscapingTests {
    @Test("label values are escaped byte by byte: a CR LF pair keeps its LF escaped")
    func crlf() {
        #expect(Exposition.escapeLabel("crlf\r\nx") == "crlf\r\\nx")
        #expect(Exposition.escapeLabel("a\\b\"c\nd") == "a\\\\b\\\"c\\nd")
        let page = Exposition.text.render([MetricFamily("m", .counter, help: "h\r\nx", samples: [Sample([Label("comm", "q\r\n\"")], UInt64(1))])])
        #expect(page == "# HELP m_total h\r\\nx\n# TYPE m_total counter\nm_total{comm=\"q\r\\n\\\"\"} 1\n")
    }
}
