import CNetmonBPF
import Glibc

/// One incoming TCP segment the kernel rejected, as printed.
public struct RejectedSegment: Equatable, Sendable {
    public let time: WallTime
    /// The destination socket's owner, or (ownerKnown false) the context the kernel dropped it in.
    public let pid: UInt32
    public let comm: String
    public let ownerKnown: Bool
    public let source: IPAddress
    public let sourcePort: UInt16
    public let destination: IPAddress
    public let destinationPort: UInt16
    public let reason: String
    /// "ESTABLISHED", "LISTEN", … or "-" when no socket was found.
    public let state: String

    /// IPv4-mapped addresses count as IPv4.
    public var ipVersion: Int { source.version }

    public init(time: WallTime, pid: UInt32, comm: String, ownerKnown: Bool, source: IPAddress, sourcePort: UInt16,
         destination: IPAddress, destinationPort: UInt16, reason: String, state: String) {
        self.time = time
        self.pid = pid
        self.comm = comm
        self.ownerKnown = ownerKnown
        self.source = source
        self.sourcePort = sourcePort
        self.destination = destination
        self.destinationPort = destinationPort
        self.reason = reason
        self.state = state
    }

    /// From the BPF program's event.
    init(_ event: inerrs_event, reasons: DropReasons) {
        let family = event.ip_version == 4 ? Int(AF_INET) : Int(AF_INET6)
        self.init(time: WallTime.ofMonotonic(event.time_ns), pid: event.pid, comm: TaskName.text(event.comm),
                  ownerKnown: event.owner_known != 0,
                  source: IPAddress(family: family, tuple: event.saddr), sourcePort: event.sport,
                  destination: IPAddress(family: family, tuple: event.daddr), destinationPort: event.dport,
                  reason: reasons.name(of: event.reason), state: TCPState.name(event.state))
    }
}
