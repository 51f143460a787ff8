import Glibc
import NetmonCLI
import NetmonJobs
import Testing
@testable import NicCommand

@Suite("nic: rates and formatting")
struct NicReportTests {
    let report: NicReport = {
        let before = QueueCounters(bytes: [1000, 0], packets: [10, 0])
        let after = QueueCounters(bytes: [4000, 1_500_000], packets: [13, 1000])
        let tx = DirectionReport(from: before, to: after, seconds: 2)
        let rx = DirectionReport(from: after, to: after, seconds: 2)
        return NicReport(interface: "veth0", seconds: 2, tx: tx, rx: rx)
    }()

    @Test("per-queue deltas, rates over the measured interval, and the total")
    func arithmetic() {
        #expect(report.tx.queues == [QueueRate(bytes: 3000, packets: 3, seconds: 2),
                                     QueueRate(bytes: 1_500_000, packets: 1000, seconds: 2)])
        #expect(report.tx.total == QueueRate(bytes: 1_503_000, packets: 1003, seconds: 2))
        #expect(report.tx.queues[0].averageSize == 1000)
        #expect(report.tx.queues[0].bytesPerSecond == 1500)
        #expect(report.tx.queues[1].packetsPerSecond == 500)
        // Idle: average 0, not NaN.
        #expect(report.rx.total.averageSize == 0 && report.rx.total.bytesPerSecond == 0)
    }

    @Test("a counter that goes backwards counts 0, not a wrapped huge number")
    func noWrap() {
        let rates = DirectionReport(from: QueueCounters(bytes: [10], packets: [1]),
                                    to: QueueCounters(bytes: [5], packets: [1]), seconds: 1)
        #expect(rates.total.bytes == 0)
    }

    @Test("netqtop's number style: K above 1000, M above 1,000,000, units of 1024")
    func human() {
        #expect(NicFormat.human(0) == "0.00")
        #expect(NicFormat.human(999.5) == "999.50")
        #expect(NicFormat.human(1536) == "1.50K")
        #expect(NicFormat.human(2_097_152) == "2.00M")
    }

    @Test("the table: time line, TX and RX sections with every queue and a Total, a separator")
    func table() {
        setenv("TZ", "UTC", 1)
        tzset()
        let text = NicFormat.table(report, at: WallTime(seconds: 1_795_000_000, nanoseconds: 0))
        #expect(text == """
            Wed Nov 18 11:06:40 2026
            TX
             QueueID   avg_size        BPS        PPS
                   0    1000.00      1.46K       1.50
                   1      1.46K    732.42K     500.00
             Total        1.46K    733.89K     501.50

            RX
             QueueID   avg_size        BPS        PPS
                   0       0.00       0.00       0.00
                   1       0.00       0.00       0.00
             Total         0.00       0.00       0.00
            -----------------------------------------

            """)
    }

    @Test("JSON: raw numbers per queue and in total, the interface and interval")
    func json() {
        setenv("TZ", "UTC", 1)
        tzset()
        let text = NicFormat.json(report, at: WallTime(seconds: 1_795_000_000, nanoseconds: 5000))
        #expect(text.hasPrefix(#"{"time":"2026-11-18T11:06:40.000005+00:00","interface":"veth0","interval":2.0,"tx":{"queues":[{"queue":0,"bytes":3000,"packets":3,"avg_size":1000.0,"bps":1500.0,"pps":1.5},"#))
        #expect(text.contains(#""total":{"bytes":1503000,"packets":1003,"#))
        #expect(text.hasSuffix("}\n") && text.filter { $0 == "\n" }.count == 1)
    }
}

@Suite("nic: command line")
struct NicParsingTests {
    @Test("defaults and every option")
    func options() throws {
        let defaults = try NicCommand(parsing: ["-n", "lo"])
        #expect(defaults.interfaceName == "lo" && defaults.interval == 1 && defaults.common.count == nil)
        let all = try NicCommand(parsing: ["--name=eth0", "--interval", "0.5", "--count", "3", "--json", "--verbose"])
        #expect(all.interval == 0.5 && all.common.count == 3 && all.common.json && all.common.verbose)
    }

    @Test("usage errors", arguments: [
        ([], "nic needs an interface: -n IFACE"),
        (["-n", "lo", "-i", "0"], "invalid interval '0' for --interval: at least 0.01 seconds"),
        (["-n", "lo", "-i", "-2"], "invalid interval '-2' for --interval: not a decimal number of seconds (e.g. 0.5)"),
        (["-n", "lo", "-c", "x"], "invalid value 'x' for --count: expected a whole number from 1 up"),
        (["-n", "averyveryverylongname"], "invalid interface name 'averyveryverylongname': at most 15 characters"),
        (["-n", "lo", "-p", "1"], "unknown option '-p'"),
    ])
    func errors(arguments: [String], message: String) {
        #expect(throws: UsageError(message, command: "nic")) { try NicCommand(parsing: arguments) }
    }

    @Test("help documents every option")
    func help() {
        let text = NicCommand.help.text
        for option in ["-n, --name IFACE", "-i, --interval SEC", "-c, --count N", "--json", "--verbose", "-h, --help"] {
            #expect(text.contains(option), "\(option)")
        }
        #expect(text.hasPrefix("Usage: netmon nic -n IFACE [-i SEC] [-c N] [--json] [--verbose]\n"))
    }
}
