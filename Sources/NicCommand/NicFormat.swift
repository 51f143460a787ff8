import NetmonCLI
import NetmonJobs

/// How a nic report is printed: netqtop's table (with its throughput columns), or one JSON line.
enum NicFormat {
    static let columnWidth = 11
    static let header = " QueueID" + ["avg_size", "BPS", "PPS"].map { " " + $0.rightAligned(columnWidth - 1) }.joined()
    static let separator = String(repeating: "-", count: header.count)

    static func table(_ report: NicReport, at time: WallTime) -> String {
        var lines = [time.header, "TX"]
        lines += direction(report.tx)
        lines += ["", "RX"]
        lines += direction(report.rx)
        lines.append(separator)
        return lines.joined(separator: "\n") + "\n"
    }

    private static func direction(_ report: DirectionReport) -> [String] {
        var lines = [header]
        for (queue, rate) in report.queues.enumerated() {
            lines.append(" " + String(queue).rightAligned(7) + columns(rate))
        }
        lines.append(" Total  " + columns(report.total))
        return lines
    }

    private static func columns(_ rate: QueueRate) -> String {
        [rate.averageSize, rate.bytesPerSecond, rate.packetsPerSecond]
            .map { " " + human($0).rightAligned(columnWidth - 1) }.joined()
    }

    /// netqtop's numbers: above 1,000,000 in M (units of 1024²), above 1000 in K (units of 1024),
    /// with two decimals.
    static func human(_ value: Double) -> String {
        if value > 1_000_000 { return twoDecimals(value / (1024 * 1024)) + "M" }
        if value > 1000 { return twoDecimals(value / 1024) + "K" }
        return twoDecimals(value)
    }

    private static func twoDecimals(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }

    static func json(_ report: NicReport, at time: WallTime) -> String {
        var line = JSONLine()
        line.add("time", time.rfc3339)
        line.add("interface", report.interface)
        line.add("interval", (report.seconds * 1e6).rounded() / 1e6)
        line.add("tx", directionObject(report.tx))
        line.add("rx", directionObject(report.rx))
        return line.text + "\n"
    }

    private static func directionObject(_ report: DirectionReport) -> JSONLine {
        var line = JSONLine()
        line.add("queues", report.queues.enumerated().map { queue, rate in rateObject(rate, queue: queue) })
        line.add("total", rateObject(report.total, queue: nil))
        return line
    }

    private static func rateObject(_ rate: QueueRate, queue: Int?) -> JSONLine {
        var line = JSONLine()
        if let queue { line.add("queue", queue) }
        line.add("bytes", rate.bytes)
        line.add("packets", rate.packets)
        line.add("avg_size", rate.averageSize)
        line.add("bps", rate.bytesPerSecond)
        line.add("pps", rate.packetsPerSecond)
        return line
    }
}
