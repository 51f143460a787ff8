import BPFKit
import CNetmonBPF
import Glibc

/// Where conn.bpf.c counts for serve (netmon/conn.h): the two name maps, the generation that picks
/// the one its programs add to, and the overflow totals. `drain()` hands over everything counted
/// since the previous drain without losing an increment that races it, as bytes' FlowMaps do.
struct ConnCountMaps {
    let named: [BPFMap]
    let generation: BPFMap
    let inFlight: BPFMap
    let overflow: BPFMap
    private(set) var current: UInt32 = 0
    /// The overflow slots' running totals as of the previous drain.
    private var overflowSeen: [UInt32: UInt64] = [:]

    init(_ object: borrowing BPFObject) throws(BPFError) {
        named = [try object.map(named: "conn_counts_0"), try object.map(named: "conn_counts_1")]
        generation = try object.map(named: "conn_counts_generation")
        inFlight = try object.map(named: "conn_counts_in_flight")
        overflow = try object.map(named: "conn_counts_overflow")
    }

    /// Flips the programs to the other name map, waits until none still works on the old one,
    /// then reads and empties it: no program writes it while we do, and its keys are free again.
    /// Then what the overflow slots gained.
    mutating func drain() throws -> [ConnectionCount] {
        let old = current
        current ^= 1
        try generation.update(UInt32(0), current)
        try waitUntilIdle(old)
        let map = named[Int(old)]
        var counts: [ConnectionCount] = []
        for key in try map.keys(as: conn_count_key.self) {
            let sum = try map.lookupPerCPU(key, as: UInt64.self).reduce(0, &+)
            try map.delete(key)
            guard sum > 0 else { continue }
            counts.append(ConnectionCount(direction: Self.direction(key.direction), ipVersion: Self.version(key.ip_version),
                                          comm: TaskName.text(key.comm), connections: sum))
        }
        for direction in [CONN_DIRECTION_CONNECT, CONN_DIRECTION_ACCEPT] {
            for version in [CONN_IP_V4, CONN_IP_V6] {
                let slot = conn_count_overflow_slot(UInt8(direction), UInt8(version))
                let total = try overflow.sumPerCPU(slot)
                let gained = total &- (overflowSeen[slot] ?? 0)
                overflowSeen[slot] = total
                guard gained > 0 else { continue }
                counts.append(ConnectionCount(direction: Self.direction(UInt8(direction)), ipVersion: Self.version(UInt8(version)),
                                              comm: nil, connections: gained))
            }
        }
        return counts
    }

    private static func direction(_ raw: UInt8) -> ConnectionDirection {
        raw == CONN_DIRECTION_ACCEPT ? .accept : .connect
    }

    private static func version(_ raw: UInt8) -> Int { raw == CONN_IP_V6 ? 6 : 4 }

    /// Programs finish in microseconds; a longer wait means one was preempted mid-add. Waits up
    /// to a second for it rather than risk reading under it.
    private func waitUntilIdle(_ generation: UInt32) throws {
        for _ in 0..<20_000 {
            let busy = try inFlight.lookupPerCPU(generation, as: Int64.self).reduce(0, &+)
            if busy <= 0 { return }
            usleep(50)
        }
    }
}
