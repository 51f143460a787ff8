import BPFKit
import CNetmonBPF
import Glibc
import NetmonCLI

/// The kernel's two flow maps and the generation that picks the one its programs add to
/// (BPFPrograms/bytes.bpf.c explains the protocol). `drain()` hands over everything counted since
/// the previous drain, without losing an update that races it.
struct FlowMaps {
    let flows: [BPFMap]
    let generation: BPFMap
    let inFlight: BPFMap
    let dropped: BPFMap
    private(set) var current: UInt32 = 0

    init(_ object: borrowing BPFObject) throws(BPFError) {
        flows = [try object.map(named: "bytes_flows_0"), try object.map(named: "bytes_flows_1")]
        generation = try object.map(named: "bytes_generation")
        inFlight = try object.map(named: "bytes_in_flight")
        dropped = try object.map(named: "bytes_dropped")
    }

    /// Flips the programs to the other map, waits until none still works on the old one, then
    /// reads and empties it: no program writes it while we do.
    mutating func drain() throws -> [FlowRow] {
        let old = current
        current ^= 1
        try generation.update(UInt32(0), current)
        try waitUntilIdle(old)
        let map = flows[Int(old)]
        var rows: [FlowRow] = []
        for key in try map.keys(as: bytes_flow_key.self) {
            guard let counters = try map.lookup(key, as: bytes_flow_counters.self) else { continue }
            try map.delete(key)
            rows.append(Self.row(key, counters))
        }
        return rows
    }

    /// Updates dropped since the start because a flow map was full.
    var droppedUpdates: UInt64 { (try? dropped.sumPerCPU(UInt32(0))) ?? 0 }

    /// Programs finish in microseconds; a longer wait means one was preempted mid-update. Waits up
    /// to a second for it rather than risk reading under it.
    private func waitUntilIdle(_ generation: UInt32) throws {
        for _ in 0..<20_000 {
            let busy = try inFlight.lookupPerCPU(generation, as: Int64.self).reduce(0, &+)
            if busy <= 0 { return }
            usleep(50)
        }
    }

    static func row(_ key: bytes_flow_key, _ counters: bytes_flow_counters) -> FlowRow {
        let family = Int(key.family)
        return FlowRow(pid: key.tgid, comm: TaskName.printable(TaskName.text(counters.comm)),
                       source: IPAddress(family: family, tuple: key.saddr), sourcePort: key.sport,
                       destination: IPAddress(family: family, tuple: key.daddr), destinationPort: key.dport,
                       rxBytes: counters.rx_bytes, txBytes: counters.tx_bytes)
    }
}
