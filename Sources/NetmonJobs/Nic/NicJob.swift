import BPFKit
import CNetmonBPF
import Glibc

/// nic.bpf.c: bytes and packets per interface, queue and direction, counted in the kernel in
/// per-CPU maps. Two modes: one interface of this network namespace (`netmon nic`: one array per
/// direction, a slot per queue), or every interface of it, including ones created later
/// (`netmon serve`: one hash of interface × queue × direction), counted the same way.
public final class NicJob: Job {
    public enum Configuration: Sendable {
        /// The interface `ifindex` of this namespace, with room for this many queues.
        case interface(ifindex: UInt32, countsLinkHeader: Bool, txQueues: Int, rxQueues: Int)
        case allInterfaces
    }

    /// One queue's counters (all-interfaces mode), summed over the CPUs.
    public struct QueueCount: Equatable, Sendable {
        public let ifindex: UInt32
        public let queue: UInt16
        public let transmit: Bool
        public let bytes: UInt64
        public let packets: UInt64
    }

    /// Cumulative counters of one direction's queues (one-interface mode), by queue number.
    public struct QueueCounters: Equatable, Sendable {
        public var bytes: [UInt64]
        public var packets: [UInt64]

        public init(bytes: [UInt64], packets: [UInt64]) {
            self.bytes = bytes
            self.packets = packets
        }
    }

    public static let name = "nic"
    public static var parts: [VariantGroup] { NicProgram.parts.map(\.group) }

    /// Interface × queue × direction slots; a packet that finds the map full is counted in
    /// `nic_uncounted` instead (reported as lost).
    public static let slots: UInt32 = 2048

    private let object: BPFObject
    private let queues: (tx: BPFMap, rx: BPFMap)?
    private let allQueues: BPFMap?
    private let uncounted: BPFMap

    public init(_ configuration: Configuration, chooser: VariantChooser) throws {
        let spec = try EmbeddedObject.open(Self.name)
        do {
            // Probing needs the kernel's BTF only until load (which reads its own copy): free it first.
            let probe = try KernelProbe()
            for part in NicProgram.parts { try chooser.choose(part, in: spec, probe: probe) }
        }
        let namespace = try Self.currentNamespaceInode()
        switch configuration {
        case let .interface(ifindex, countsLinkHeader, txQueues, rxQueues):
            try spec.setConstant("nic_config", to: nic_config(ifindex: ifindex, netns_inum: namespace,
                                                              counts_link_header: countsLinkHeader ? 1 : 0,
                                                              all_interfaces: 0))
            try spec.setMaxEntries(UInt32(txQueues), map: "nic_tx_queues")
            try spec.setMaxEntries(UInt32(rxQueues), map: "nic_rx_queues")
        case .allInterfaces:
            try spec.setConstant("nic_config", to: nic_config(ifindex: 0, netns_inum: namespace,
                                                              counts_link_header: 0, all_interfaces: 1))
            try spec.setMaxEntries(Self.slots, map: "nic_all_queues")
        }
        var object = try spec.load()
        try object.attachAll()
        if case .interface = configuration {
            queues = (try object.map(named: "nic_tx_queues"), try object.map(named: "nic_rx_queues"))
            allQueues = nil
        } else {
            queues = nil
            allQueues = try object.map(named: "nic_all_queues")
        }
        uncounted = try object.map(named: "nic_uncounted")
        self.object = object
    }

    /// The inode number of /proc/self/ns/net: the kernel's `net->ns.inum` of our namespace.
    public static func currentNamespaceInode() throws(JobFailure) -> UInt32 {
        var status = stat()
        guard stat("/proc/self/ns/net", &status) == 0 else {
            throw JobFailure("cannot identify this network namespace: \(String(cString: strerror(errno)))")
        }
        return UInt32(truncatingIfNeeded: status.st_ino)
    }

    /// Packets that found the all-interfaces map full.
    public var lostEvents: UInt64 { (try? uncounted.sumPerCPU(UInt32(0))) ?? 0 }

    /// How many queues of each direction the one-interface maps have room for.
    public var queueSlots: (tx: Int, rx: Int) {
        (queues.map { $0.tx.maxEntries } ?? 0, queues.map { $0.rx.maxEntries } ?? 0)
    }

    /// One-interface mode: every queue's counters, summed over the CPUs.
    public func readInterface() throws(BPFError) -> (tx: QueueCounters, rx: QueueCounters) {
        guard let queues else { return (QueueCounters(bytes: [], packets: []), QueueCounters(bytes: [], packets: [])) }
        return (try Self.read(queues.tx), try Self.read(queues.rx))
    }

    private static func read(_ map: BPFMap) throws(BPFError) -> QueueCounters {
        var counters = QueueCounters(bytes: [], packets: [])
        for queue in 0..<UInt32(map.maxEntries) {
            let perCPU = try map.lookupPerCPU(queue, as: nic_queue_counters.self)
            counters.bytes.append(perCPU.reduce(0) { $0 &+ $1.bytes })
            counters.packets.append(perCPU.reduce(0) { $0 &+ $1.packets })
        }
        return counters
    }

    /// All-interfaces mode: every slot's counters, summed over the CPUs.
    public func readAllInterfaces() throws(BPFError) -> [QueueCount] {
        guard let allQueues else { return [] }
        var counts: [QueueCount] = []
        for key in try allQueues.keys(as: nic_queue_key.self) {
            let perCPU = try allQueues.lookupPerCPU(key, as: nic_queue_counters.self)
            guard !perCPU.isEmpty else { continue }
            counts.append(QueueCount(ifindex: key.ifindex, queue: key.queue, transmit: key.direction == UInt8(NIC_DIRECTION_TX),
                                     bytes: perCPU.reduce(0) { $0 &+ $1.bytes }, packets: perCPU.reduce(0) { $0 &+ $1.packets }))
        }
        return counts
    }
}
