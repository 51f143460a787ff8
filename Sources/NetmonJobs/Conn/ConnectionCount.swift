/// Connections the kernel counted for one (direction, family, process name) since the previous
/// `ConnJob.drainCounts()`.
public struct ConnectionCount: Hashable, Sendable {
    public let direction: ConnectionDirection
    /// 4 or 6 (IPv4-mapped connections are 4).
    public let ipVersion: Int
    /// The process's name (`TaskName.text`); nil for connections that found the kernel's name map
    /// full (CONN_COUNT_MAX_KEYS names in one interval between drains).
    public let comm: String?
    public let connections: UInt64
}
