import BPFKit
import CNetmonBPF
import NetmonCLI

/// nic.bpf.c in all-interfaces mode, for `netmon serve`: every interface of this network
/// namespace, including ones created later, counted per interface, queue and direction in one
/// per-CPU hash. Counted exactly as `netmon nic` counts one interface.
public enum NicAllInterfaces {
    /// Interface × queue × direction slots; a packet that finds the map full is counted in
    /// `nic_uncounted` instead (reported as lost).
    public static let slots: UInt32 = 2048

    public struct QueueCount: Equatable, Sendable {
        public let ifindex: UInt32
        public let queue: UInt16
        public let transmit: Bool
        public let bytes: UInt64
        public let packets: UInt64
    }

    /// Opens, configures and loads the object (not yet attached).
    public static func load(_ context: RunContext) throws -> BPFObject {
        let spec = try EmbeddedObject.open("nic")
        do {
            let probe = try KernelProbe()
            for group in NicProgram.groups {
                try context.choose(group, in: spec, probe: probe)
            }
        }
        try spec.setConstant("nic_config", to: nic_config(ifindex: 0, netns_inum: try Interface.currentNamespaceInode(),
                                                          counts_link_header: 0, all_interfaces: 1))
        try spec.setMaxEntries(slots, map: "nic_all_queues")
        return try spec.load()
    }

    /// Every slot's counters, summed over the CPUs.
    public static func read(_ queues: BPFMap) throws(BPFError) -> [QueueCount] {
        var counts: [QueueCount] = []
        for key in try queues.keys(as: nic_queue_key.self) {
            let perCPU = try queues.lookupPerCPU(key, as: nic_queue_counters.self)
            guard !perCPU.isEmpty else { continue }
            counts.append(QueueCount(ifindex: key.ifindex, queue: key.queue, transmit: key.direction == UInt8(NIC_DIRECTION_TX),
                                     bytes: perCPU.reduce(0) { $0 &+ $1.bytes }, packets: perCPU.reduce(0) { $0 &+ $1.packets }))
        }
        return counts
    }
}
