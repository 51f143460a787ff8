import NetmonJobs

/// Everything printed for one interval: the rows, busiest first, split by address family.
struct BytesReport: Equatable {
    let ipv4: [FlowRow]
    let ipv6: [FlowRow]

    init(rows: [FlowRow]) {
        let sorted = rows.sorted(by: Self.busierFirst)
        ipv4 = sorted.filter { $0.version == 4 }
        ipv6 = sorted.filter { $0.version == 6 }
    }

    var isEmpty: Bool { ipv4.isEmpty && ipv6.isEmpty }

    /// Most bytes (received + sent) first; ties in a fixed order (PID, then the addresses), so
    /// equal rows do not swap places from one interval to the next.
    static func busierFirst(_ a: FlowRow, _ b: FlowRow) -> Bool {
        if a.totalBytes != b.totalBytes { return a.totalBytes > b.totalBytes }
        if a.pid != b.pid { return a.pid < b.pid }
        if a.source.description != b.source.description { return a.source.description < b.source.description }
        if a.sourcePort != b.sourcePort { return a.sourcePort < b.sourcePort }
        if a.destination.description != b.destination.description {
            return a.destination.description < b.destination.description
        }
        return a.destinationPort < b.destinationPort
    }
}
