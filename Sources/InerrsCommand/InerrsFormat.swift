import NetmonCLI
import NetmonJobs

/// How rejected segments are printed: the seed's table, or one JSON object per line.
enum InerrsFormat {
    static let header = row("TIME", "PID", "COMM", "IP", "SADDR:SPORT", "DADDR:DPORT", "REASON", "STATE")

    static func table(_ segment: RejectedSegment) -> String {
        row(segment.time.clock, String(segment.pid), segment.comm, String(segment.ipVersion),
            endpoint(segment.source, segment.sourcePort), endpoint(segment.destination, segment.destinationPort),
            segment.reason, segment.state)
    }

    /// "10.0.0.1:443"; IPv6 in brackets ("[fd00::1]:443"), so the port cannot be read as a group.
    static func endpoint(_ address: IPAddress, _ port: UInt16) -> String {
        address.version == 4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }

    private static func row(_ time: String, _ pid: String, _ comm: String, _ ip: String, _ source: String,
                            _ destination: String, _ reason: String, _ state: String) -> String {
        [time.leftAligned(8), pid.leftAligned(7), comm.leftAligned(16), ip.leftAligned(2), source.leftAligned(21), ">",
         destination.leftAligned(21), reason.leftAligned(24), state].joined(separator: " ")
    }

    static func json(_ segment: RejectedSegment) -> String {
        var line = JSONLine()
        line.add("time", segment.time.rfc3339)
        line.add("pid", segment.pid)
        line.add("comm", segment.comm)
        // false: no process holds the socket (TIME_WAIT, no socket), and pid/comm are the context
        // the kernel dropped the segment in.
        line.add("holder", segment.ownerKnown)
        line.add("ip", segment.ipVersion)
        line.add("saddr", segment.source.description)
        line.add("sport", segment.sourcePort)
        line.add("daddr", segment.destination.description)
        line.add("dport", segment.destinationPort)
        line.add("reason", segment.reason)
        line.add("state", segment.state)
        return line.text
    }
}
