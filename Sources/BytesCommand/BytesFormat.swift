import NetmonCLI
import NetmonJobs

/// How a bytes report is printed: tcptop's two tables, or one JSON line per row.
enum BytesFormat {
    /// Moves the cursor home and clears the terminal (only ever written to a terminal).
    static let clearScreen = "\u{1B}[H\u{1B}[2J"

    /// Whole kibibytes, rounded down, as tcptop shows them (bytes / 1024).
    static func kilobytes(_ bytes: UInt64) -> String { String(bytes / 1024) }

    /// "10.0.0.1:22", or "[fd00::1]:22" (RFC 5952 §6: brackets keep the port apart).
    static func endpoint(_ address: IPAddress, _ port: UInt16) -> String {
        address.version == 4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }

    /// The time header, then the IPv4 table and the IPv6 table (those the family filter lets in),
    /// each with its header even when empty, so the screen does not jump.
    static func table(_ report: BytesReport, at time: WallTime, families: AddressFamilyFilter) -> String {
        var sections = [time.header]
        if families != .ipv6 { sections.append(table(report.ipv4, addressLabel: "ADDR")) }
        if families != .ipv4 { sections.append(table(report.ipv6, addressLabel: "ADDR6")) }
        return sections.joined(separator: "\n\n") + "\n\n"
    }

    static func table(_ rows: [FlowRow], addressLabel: String) -> String {
        let source = rows.map { endpoint($0.source, $0.sourcePort) }
        let destination = rows.map { endpoint($0.destination, $0.destinationPort) }
        // Wide enough for the longest address seen, and for a typical one, so columns stay put.
        let typical = addressLabel == "ADDR" ? 21 : 28
        let sourceWidth = max(typical, source.map(\.count).max() ?? 0)
        let destinationWidth = max(typical, destination.map(\.count).max() ?? 0)
        var lines = [line("PID", "COMM", "S\(addressLabel):SPORT", "D\(addressLabel):DPORT", "RX_KB", "TX_KB",
                          sourceWidth, destinationWidth)]
        for (index, row) in rows.enumerated() {
            lines.append(line(String(row.pid), row.comm, source[index], destination[index],
                              kilobytes(row.rxBytes), kilobytes(row.txBytes), sourceWidth, destinationWidth))
        }
        return lines.joined(separator: "\n")
    }

    private static func line(_ pid: String, _ comm: String, _ source: String, _ destination: String,
                             _ rx: String, _ tx: String, _ sourceWidth: Int, _ destinationWidth: Int) -> String {
        [pid.leftAligned(7), comm.leftAligned(16), source.leftAligned(sourceWidth),
         destination.leftAligned(destinationWidth), rx.rightAligned(8), tx.rightAligned(8)].joined(separator: " ")
    }

    /// One line per row, raw byte counts.
    static func json(_ report: BytesReport, at time: WallTime) -> String {
        (report.ipv4 + report.ipv6).map { row in
            var line = JSONLine()
            line.add("time", time.rfc3339)
            line.add("pid", row.pid)
            line.add("comm", row.comm)
            line.add("ip", row.version)
            line.add("saddr", row.source.description)
            line.add("sport", row.sourcePort)
            line.add("daddr", row.destination.description)
            line.add("dport", row.destinationPort)
            line.add("rx_bytes", row.rxBytes)
            line.add("tx_bytes", row.txBytes)
            return line.text + "\n"
        }.joined()
    }
}
