/// What one process moved on one connection during one interval.
public struct FlowRow: Equatable, Sendable {
    public let pid: UInt32
    public let comm: String
    public let source: IPAddress
    public let sourcePort: UInt16
    public let destination: IPAddress
    public let destinationPort: UInt16
    public let rxBytes: UInt64
    public let txBytes: UInt64

    /// 4 or 6; an IPv4-mapped IPv6 connection is 4 (the kernel already stores it as IPv4).
    public var version: Int { source.version == 6 || destination.version == 6 ? 6 : 4 }
    public var totalBytes: UInt64 { rxBytes &+ txBytes }

    public init(pid: UInt32, comm: String, source: IPAddress, sourcePort: UInt16, destination: IPAddress,
                destinationPort: UInt16, rxBytes: UInt64, txBytes: UInt64) {
        self.pid = pid
        self.comm = comm
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
        self.rxBytes = rxBytes
        self.txBytes = txBytes
    }
}
