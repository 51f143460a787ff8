import NetmonCLI
import NetmonJobs

/// How a connection is printed: a row of the table, or one JSON line.
struct ConnFormat {
    /// Width of DADDR and SADDR: 15 fits every IPv4 address (with -4 nothing else is printed),
    /// 39 every IPv6 address in RFC 5952 form, so rows stay aligned whatever the peer.
    let addressWidth: Int

    init(family: AddressFamilyFilter) {
        addressWidth = family == .ipv4 ? 15 : 39
    }

    var header: String {
        row(["TIME", "PID", "COMM", "IP", "DADDR", "DPORT", "SADDR", "SPORT", "DIRECTION"])
    }

    func row(_ connection: Connection, time: WallTime) -> String {
        row([time.clock, String(connection.pid), connection.comm,
             String(connection.local.version), connection.remote.description, String(connection.remotePort),
             connection.local.description, String(connection.localPort), connection.direction.rawValue])
    }

    /// TIME PID COMM IP DADDR DPORT SADDR SPORT DIRECTION; numbers right-aligned, text left-aligned.
    private func row(_ cells: [String]) -> String {
        let (time, pid, comm, ip, daddr, dport, saddr, sport, direction) =
            (cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7], cells[8])
        return [time.leftAligned(8), pid.rightAligned(7), comm.leftAligned(16), ip.leftAligned(2),
                daddr.leftAligned(addressWidth), dport.rightAligned(5), saddr.leftAligned(addressWidth),
                sport.rightAligned(5), direction].joined(separator: " ")
    }

    static func json(_ connection: Connection, time: WallTime) -> String {
        var line = JSONLine()
        line.add("time", time.rfc3339)
        line.add("pid", connection.pid)
        line.add("comm", connection.comm)
        line.add("ip", connection.local.version)
        line.add("saddr", connection.local.description)
        line.add("sport", connection.localPort)
        line.add("daddr", connection.remote.description)
        line.add("dport", connection.remotePort)
        line.add("direction", connection.direction.rawValue)
        return line.text
    }
}
