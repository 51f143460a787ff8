import BPFKit
import CNetmonBPF
import NetmonCLI

/// conn for `netmon serve`: the same programs with no filter, counting every connection in the
/// kernel (netmon/conn.h: `conn_counts`, `conn_counts_overflow`) instead of sending events, so the
/// counts are exact whatever the rate.
public enum ConnFeed {
    /// What a metric keeps of a connection.
    public struct Established: Hashable, Sendable {
        public let accepted: Bool
        /// 4 or 6 (IPv4-mapped connections are 4).
        public let ipVersion: Int
        /// The process's name; nil for connections counted after the kernel's map of names was
        /// full (CONN_COUNT_MAX_KEYS).
        public let comm: String?
    }

    /// The ring buffer conn.bpf.c sends events on (unused when counting).
    static let events = "conn_events"

    /// Opens and loads conn.bpf.c for every connection of both directions, counting (not yet attached).
    public static func load(_ context: RunContext) throws -> BPFObject {
        try ConnProgram.load(filter: ConnFilter(), context: context, countOnly: true)
    }

    /// The kernel's running totals since `load`.
    public struct Counts: Sendable {
        let named: BPFMap
        let overflow: BPFMap

        public init(_ object: borrowing BPFObject) throws(BPFError) {
            named = try object.map(named: "conn_counts")
            overflow = try object.map(named: "conn_counts_overflow")
        }

        /// Connections counted so far, summed over the CPUs. Keys are never deleted and values only
        /// grow, so every total only grows.
        public func read() throws(BPFError) -> [Established: UInt64] {
            var totals: [Established: UInt64] = [:]
            for key in try named.keys(as: conn_count_key.self) {
                let sum = try named.lookupPerCPU(key, as: UInt64.self).reduce(0, &+)
                let established = Established(accepted: key.direction == CONN_DIRECTION_ACCEPT,
                                              ipVersion: key.ip_version == CONN_IP_V6 ? 6 : 4,
                                              comm: TaskName.text(key.comm))
                totals[established, default: 0] &+= sum
            }
            for accepted in [false, true] {
                for version in [CONN_IP_V4, CONN_IP_V6] {
                    let direction = UInt8(accepted ? CONN_DIRECTION_ACCEPT : CONN_DIRECTION_CONNECT)
                    let slot = conn_count_overflow_slot(direction, UInt8(version))
                    let sum = try overflow.sumPerCPU(slot)
                    if sum > 0 { totals[Established(accepted: accepted, ipVersion: Int(version), comm: nil)] = sum }
                }
            }
            return totals
        }
    }
}
