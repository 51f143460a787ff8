import NetmonCLI
@testable import NetmonJobs
import Testing

@testable import BytesCommand

private func row(pid: UInt32 = 100, comm: String = "curl", source: IPAddress = .v4(10, 0, 0, 1),
                 sport: UInt16 = 40000, destination: IPAddress = .v4(10, 0, 0, 2), dport: UInt16 = 443,
                 rx: UInt64 = 0, tx: UInt64 = 0) -> FlowRow {
    FlowRow(pid: pid, comm: comm, source: source, sourcePort: sport, destination: destination,
            destinationPort: dport, rxBytes: rx, txBytes: tx)
}

private let v6a = IPAddress.v6([0xfd, 0x77, 0, 5] + [UInt8](repeating: 0, count: 11) + [1])
private let v6b = IPAddress.v6([0xfd, 0x77, 0, 5] + [UInt8](repeating: 0, count: 11) + [2])
private let time = WallTime(seconds: 1_795_000_000, nanoseconds: 123_456_000)

@Suite("bytes formatting")
struct BytesFormatTests {
    @Test("KB are whole KiB, rounded down, as tcptop shows them")
    func kilobytes() {
        #expect(BytesFormat.kilobytes(0) == "0")
        #expect(BytesFormat.kilobytes(1023) == "0")
        #expect(BytesFormat.kilobytes(1024) == "1")
        #expect(BytesFormat.kilobytes(10_000_000) == "9765")
        #expect(BytesFormat.kilobytes(1_234_567) == "1205")
    }

    @Test("endpoints: IPv4 dotted, IPv6 in brackets")
    func endpoints() {
        #expect(BytesFormat.endpoint(.v4(127, 0, 0, 1), 22) == "127.0.0.1:22")
        #expect(BytesFormat.endpoint(v6a, 5201) == "[fd77:5::1]:5201")
    }

    @Test("rows sort by total bytes, busiest first, ties by PID; families split")
    func sorting() {
        let report = BytesReport(rows: [
            row(pid: 3, rx: 10, tx: 10),
            row(pid: 1, source: v6a, destination: v6b, rx: 5),
            row(pid: 2, rx: 0, tx: 100),
            row(pid: 1, rx: 20, tx: 0),
            row(pid: 4, source: v6a, destination: v6b, tx: 50),
        ])
        #expect(report.ipv4.map(\.pid) == [2, 1, 3])
        #expect(report.ipv6.map(\.pid) == [4, 1])
    }

    @Test("IPv4-mapped addresses are IPv4 rows")
    func mapped() {
        let mapped = withUnsafeBytes(of: (UInt64(0), UInt32(0xffff_0000), UInt32(0x0100_007f))) {
            IPAddress(family: 10, bytes: $0)
        }
        #expect(mapped == .v4(127, 0, 0, 1))
        let report = BytesReport(rows: [row(source: mapped, destination: mapped, rx: 1)])
        #expect(report.ipv4.count == 1 && report.ipv6.isEmpty)
    }

    @Test("the table: time header, IPv4 table, IPv6 table, KB columns")
    func table() {
        let report = BytesReport(rows: [
            row(pid: 4242, comm: "python3", sport: 5201, dport: 40001, rx: 10_000_000, tx: 1_234_567),
            row(pid: 77, comm: "sshd", source: v6a, sport: 22, destination: v6b, dport: 50000, rx: 2048, tx: 512),
        ])
        let text = BytesFormat.table(report, at: time, families: .both)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines[0] == time.header)
        #expect(lines[1] == "")
        #expect(lines[2] == "PID     COMM             SADDR:SPORT           DADDR:DPORT              RX_KB    TX_KB")
        #expect(lines[3] == "4242    python3          10.0.0.1:5201         10.0.0.2:40001            9765     1205")
        #expect(lines[4] == "")
        #expect(lines[5] == "PID     COMM             SADDR6:SPORT                 DADDR6:DPORT                    RX_KB    TX_KB")
        #expect(lines[6] == "77      sshd             [fd77:5::1]:22               [fd77:5::2]:50000                   2        0")
        #expect(!text.contains("\u{1B}"))
    }

    @Test("-4 and -6 print only their table")
    func familyTables() {
        let report = BytesReport(rows: [])
        #expect(!BytesFormat.table(report, at: time, families: .ipv4).contains("SADDR6"))
        #expect(BytesFormat.table(report, at: time, families: .ipv4).contains("SADDR:SPORT"))
        #expect(!BytesFormat.table(report, at: time, families: .ipv6).contains("SADDR:SPORT"))
    }

    @Test("JSON: one object per row, raw bytes, table order")
    func json() {
        let report = BytesReport(rows: [
            row(pid: 1, source: v6a, destination: v6b, rx: 1, tx: 2),
            row(pid: 2, comm: "a\"b", rx: 10_000_000, tx: 1_234_567),
        ])
        let lines = BytesFormat.json(report, at: time).split(separator: "\n").map(String.init)
        #expect(lines == [
            #"{"time":"\#(time.rfc3339)","pid":2,"comm":"a\"b","ip":4,"saddr":"10.0.0.1","sport":40000,"daddr":"10.0.0.2","dport":443,"rx_bytes":10000000,"tx_bytes":1234567}"#,
            #"{"time":"\#(time.rfc3339)","pid":1,"comm":"curl","ip":6,"saddr":"fd77:5::1","sport":40000,"daddr":"fd77:5::2","dport":443,"rx_bytes":1,"tx_bytes":2}"#,
        ])
        #expect(BytesFormat.json(BytesReport(rows: []), at: time).isEmpty)
    }

    @Test("COMM is clean text: up to the NUL, no control characters")
    func comm() {
        let raw: (CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar,
                  CChar, CChar, CChar, CChar, CChar, CChar, CChar, CChar) =
            (115, 115, 104, 100, 27, 0, 65, 65, 0, 0, 0, 0, 0, 0, 0, 0)
        #expect(TaskName.text(raw) == "sshd?")
    }
}

@Suite("bytes options")
struct BytesOptionsTests {
    @Test("defaults")
    func defaults() throws {
        let command = try BytesCommand(parsing: [])
        #expect(command.interval == 1 && command.pid == nil && command.families == .both && !command.noClear)
        #expect(command.config.tgid == 0 && command.config.family == 0)
    }

    @Test("all options, short and long")
    func options() throws {
        let command = try BytesCommand(parsing: ["-p", "42", "-i", "0.5", "-4", "-C", "-c", "3", "--json"])
        #expect(command.pid == 42 && command.interval == 0.5 && command.families == .ipv4 && command.noClear)
        #expect(command.common.count == 3 && command.common.json)
        #expect(command.config.tgid == 42 && command.config.family == 4)
        let long = try BytesCommand(parsing: ["--pid=7", "--interval", "2", "--ipv6", "--noclear"])
        #expect(long.pid == 7 && long.interval == 2 && long.families == .ipv6 && long.noClear)
        #expect(long.config.family == 6)
    }

    @Test("usage errors", arguments: [["-4", "-6"], ["-p", "0"], ["-p", "abc"], ["-i", "0"], ["-i", "x"],
                                      ["-c", "0"], ["--bogus"], ["extra"]])
    func usageErrors(arguments: [String]) {
        #expect(throws: UsageError.self) { try BytesCommand(parsing: arguments) }
    }

    @Test("help documents every option")
    func help() {
        let text = BytesCommand.help.text
        for option in ["--pid", "--interval", "--ipv4", "--ipv6", "--noclear", "--count", "--json", "--verbose", "--help"] {
            #expect(text.contains(option))
        }
    }
}
