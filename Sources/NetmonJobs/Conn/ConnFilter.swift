import CNetmonBPF
import NetmonCLI

/// What `-p`, `-P`, `-r`, `-4`/`-6` select; applied in the kernel (`struct conn_config`).
struct ConnFilter: Sendable, Equatable {
    var pid: UInt32?
    /// Local ports (SPORT); empty means every port.
    var localPorts: [UInt16] = []
    /// nil: both directions.
    var direction: ConnectionDirection?
    var family: AddressFamilyFilter = .both

    static let maxPorts = Int(CONN_MAX_PORTS)

    /// Parses `-r`'s value.
    static func direction(_ text: String, command: String) throws(UsageError) -> ConnectionDirection {
        guard let direction = ConnectionDirection(rawValue: text) else {
            throw UsageError("invalid direction '\(text)' for --role: expected 'connect' or 'accept'", command: command)
        }
        return direction
    }

    /// The kernel-side configuration.
    var config: conn_config {
        var config = conn_config()
        config.tgid = pid ?? 0
        config.ip_version = switch family {
        case .both: UInt8(CONN_IP_ANY)
        case .ipv4: UInt8(CONN_IP_V4)
        case .ipv6: UInt8(CONN_IP_V6)
        }
        config.port_count = UInt16(localPorts.count)
        withUnsafeMutableBytes(of: &config.local_ports) { slots in
            for (index, port) in localPorts.prefix(Self.maxPorts).enumerated() {
                slots.storeBytes(of: port, toByteOffset: index * MemoryLayout<UInt16>.stride, as: UInt16.self)
            }
        }
        return config
    }

    /// Whether the connect (inet_sock_set_state) programs are needed.
    var tracesConnects: Bool { direction != .accept }
    /// Whether the accept (syscall exit) programs are needed.
    var tracesAccepts: Bool { direction != .connect }
}
