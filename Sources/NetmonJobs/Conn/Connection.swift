import CNetmonBPF
import Glibc

/// Which side opened a connection.
public enum ConnectionDirection: String, Sendable, Equatable {
    case connect, accept
}

/// One established TCP connection, as the kernel reported it (`struct conn_event`).
public struct Connection: Sendable, Equatable {
    /// CLOCK_MONOTONIC nanoseconds of the establishment (connect) or of accept()'s return.
    public let timestampNanoseconds: UInt64
    public let pid: UInt32
    public let comm: String
    public let local: IPAddress
    public let localPort: UInt16
    public let remote: IPAddress
    public let remotePort: UInt16
    public let direction: ConnectionDirection

    public init(timestampNanoseconds: UInt64, pid: UInt32, comm: String, local: IPAddress, localPort: UInt16,
         remote: IPAddress, remotePort: UInt16, direction: ConnectionDirection) {
        self.timestampNanoseconds = timestampNanoseconds
        self.pid = pid
        self.comm = comm
        self.local = local
        self.localPort = localPort
        self.remote = remote
        self.remotePort = remotePort
        self.direction = direction
    }

    /// Decodes a ring-buffer record; nil if it is too short or carries an unknown direction.
    public init?(record: UnsafeRawBufferPointer) {
        guard record.count >= MemoryLayout<conn_event>.size else { return nil }
        let event = record.loadUnaligned(as: conn_event.self)
        guard let direction = Self.direction(event.direction) else { return nil }
        // The kernel already turned IPv4-mapped connections into ip_version 4 with 4-byte addresses.
        let family = Int(event.ip_version == UInt8(CONN_IP_V4) ? AF_INET : AF_INET6)
        self.init(timestampNanoseconds: event.timestamp_ns, pid: event.pid, comm: TaskName.text(event.comm),
                  local: IPAddress(family: family, tuple: event.saddr), localPort: event.sport,
                  remote: IPAddress(family: family, tuple: event.daddr), remotePort: event.dport,
                  direction: direction)
    }

    private static func direction(_ raw: UInt8) -> ConnectionDirection? {
        switch Int32(raw) {
        case CONN_DIRECTION_CONNECT: .connect
        case CONN_DIRECTION_ACCEPT: .accept
        default: nil
        }
    }
}
