import CNetmonBPF

/// What `-p`, `-P`, `-r`, `-4`/`-6` select; applied in the kernel (`struct conn_config`).
public struct ConnFilter: Sendable, Equatable {
    public var pid: UInt32?
    /// Local ports (SPORT); empty means every port.
    public var localPorts: [UInt16] = []
    /// nil: both directions.
    public var direction: ConnectionDirection?
    public var family: AddressFamilyFilter = .both
    /// Count connections in the kernel (ConnJob.drainCounts) instead of sending events (serve).
    public var countOnly = false

    public static let maxPorts = Int(CONN_MAX_PORTS)

    /// Every connection of both directions (serve).
    public init(pid: UInt32? = nil, localPorts: [UInt16] = [], direction: ConnectionDirection? = nil,
                family: AddressFamilyFilter = .both, countOnly: Bool = false) {
        self.pid = pid
        self.countOnly = countOnly
        self.localPorts = localPorts
        self.direction = direction
        self.family = family
    }

    /// The kernel-side configuration.
    public var config: conn_config {
        var config = conn_config()
        config.tgid = pid ?? 0
        config.ip_version = switch family {
        case .both: UInt8(CONN_IP_ANY)
        case .ipv4: UInt8(CONN_IP_V4)
        case .ipv6: UInt8(CONN_IP_V6)
        }
        config.count_only = countOnly ? 1 : 0
        config.port_count = UInt16(localPorts.count)
        withUnsafeMutableBytes(of: &config.local_ports) { slots in
            for (index, port) in localPorts.prefix(Self.maxPorts).enumerated() {
                slots.storeBytes(of: port, toByteOffset: index * MemoryLayout<UInt16>.stride, as: UInt16.self)
            }
        }
        return config
    }

    /// Whether the connect (inet_sock_set_state) programs are needed.
    public var tracesConnects: Bool { direction != .accept }
    /// Whether the accept (syscall exit) programs are needed.
    public var tracesAccepts: Bool { direction != .connect }
}
