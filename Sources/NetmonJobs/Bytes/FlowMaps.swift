import BPFKit
import CNetmonBPF
import Glibc


/// Where the kernel counts: the two flow maps and the generation that picks the one its programs
/// add to (BPFPrograms/bytes_flows.bpf.h explains the protocol), and the counts kept with each
/// socket (bytes.bpf.c), taken by an iterator. `drain()` hands over everything counted since the
/// previous drain, without losing an update that races it.
struct FlowMaps {
    let flows: [BPFMap]
    let generation: BPFMap
    let inFlight: BPFMap
    let dropped: BPFMap
    private(set) var current: UInt32 = 0
    /// Whether the programs keep counts with the sockets (the tracepoint variants).
    let socketStorage: Bool

    init(_ object: borrowing BPFObject, socketStorage: Bool) throws(BPFError) {
        self.socketStorage = socketStorage
        flows = [try object.map(named: "bytes_flows_0"), try object.map(named: "bytes_flows_1")]
        generation = try object.map(named: "bytes_generation")
        inFlight = try object.map(named: "bytes_in_flight")
        dropped = try object.map(named: "bytes_dropped")
    }

    /// Flips the programs to the other map, waits until none still works on the old one, then
    /// reads and empties it: no program writes it while we do. Then takes the sockets' counts.
    /// Bytes a destroyed socket handed to the new map meanwhile are reported next time.
    mutating func drain(_ object: inout BPFObject) throws -> [FlowRow] {
        let old = current
        current ^= 1
        try generation.update(UInt32(0), current)
        try waitUntilIdle(old)
        let map = flows[Int(old)]
        var rows = FlowRows()
        for key in try map.keys(as: bytes_flow_key.self) {
            guard let counters = try map.lookup(key, as: bytes_flow_counters.self) else { continue }
            try map.delete(key)
            rows.add(Self.row(key, counters))
        }
        if socketStorage {
            let records = try object.runIterator("bytes_sockets_read", map: "bytes_sockets")
            for record in Self.records(records) {
                rows.add(Self.row(record.key, record.counters))
            }
        }
        return rows.all
    }

    /// The iterator's output: whole `bytes_flow_record`s, one after another.
    static func records(_ bytes: [UInt8]) -> [bytes_flow_record] {
        let size = MemoryLayout<bytes_flow_record>.size
        return stride(from: 0, to: bytes.count - size + 1, by: size).map { offset in
            bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: bytes_flow_record.self) }
        }
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
        return FlowRow(pid: key.tgid, comm: TaskName.text(counters.comm),
                       source: IPAddress(family: family, tuple: key.saddr), sourcePort: key.sport,
                       destination: IPAddress(family: family, tuple: key.daddr), destinationPort: key.dport,
                       rxBytes: counters.rx_bytes, txBytes: counters.tx_bytes)
    }
}

/// Rows of one interval, one per process and connection: a flow counted both with its socket
/// and in a flow map (another process's calls, a socket destroyed mid-interval) is summed.
struct FlowRows {
    private struct Identity: Hashable {
        let pid: UInt32
        let source: String
        let sourcePort: UInt16
        let destination: String
        let destinationPort: UInt16
    }

    private var order: [Identity] = []
    private var rows: [Identity: FlowRow] = [:]

    mutating func add(_ row: FlowRow) {
        let identity = Identity(pid: row.pid, source: row.source.description, sourcePort: row.sourcePort,
                                destination: row.destination.description, destinationPort: row.destinationPort)
        if let known = rows[identity] {
            rows[identity] = FlowRow(pid: known.pid, comm: known.comm, source: known.source, sourcePort: known.sourcePort,
                                     destination: known.destination, destinationPort: known.destinationPort,
                                     rxBytes: known.rxBytes &+ row.rxBytes, txBytes: known.txBytes &+ row.txBytes)
        } else {
            order.append(identity)
            rows[identity] = row
        }
    }

    var all: [FlowRow] { order.compactMap { rows[$0] } }
}
