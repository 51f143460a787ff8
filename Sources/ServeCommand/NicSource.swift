import BPFKit
import Glibc
import NetmonCLI
import NetmonJobs

/// `netmon_nic_queue_bytes_total` and `netmon_nic_queue_packets_total`: every queue of every
/// interface of netmon's network namespace (or of the -n interfaces), counted as `netmon nic`
/// counts, read from the kernel's map at each scrape.
final class NicSource: MetricSource, @unchecked Sendable {
    let name = "nic"
    private let job: NicJob
    /// Only these interface names, when -n was given. Applied here rather than in the kernel: a
    /// named interface may not exist yet, or be re-created with another ifindex, and its first
    /// packets must count; the kernel's cost per packet is the same either way.
    private let only: Set<String>?
    private let lock = Lock()
    /// Names by ifindex, kept after an interface goes away so that its series keep their label.
    private var names: [UInt32: String] = [:]

    init(chooser: VariantChooser, interfaces: [String]?) throws {
        job = try NicJob(.allInterfaces, chooser: chooser)
        only = interfaces.map(Set.init)
    }

    func lostEvents() -> UInt64 { job.lostEvents }

    func collect() throws -> [MetricFamily] {
        struct Key: Hashable, Comparable {
            let interface: String
            let transmit: Bool
            let queue: UInt16
            static func < (a: Key, b: Key) -> Bool {
                (a.interface, a.transmit ? 0 : 1, a.queue) < (b.interface, b.transmit ? 0 : 1, b.queue)
            }
        }
        let present = Self.presentInterfaces()
        let counts = try job.readAllInterfaces()
        var totals: [Key: (bytes: UInt64, packets: UInt64)] = [:]
        lock.withLock {
            for interface in present { names[interface.ifindex] = interface.name }
            // Every queue an interface has now, idle ones included (as `netmon nic` shows them).
            for interface in present {
                for queue in 0..<interface.txQueues { totals[Key(interface: interface.name, transmit: true, queue: queue)] = (0, 0) }
                for queue in 0..<interface.rxQueues { totals[Key(interface: interface.name, transmit: false, queue: queue)] = (0, 0) }
            }
            for count in counts {
                // An interface created and removed between two scrapes was never seen by name.
                let interface = names[count.ifindex] ?? "ifindex\(count.ifindex)"
                let key = Key(interface: interface, transmit: count.transmit, queue: count.queue)
                let sum = totals[key] ?? (0, 0)
                totals[key] = (sum.bytes &+ count.bytes, sum.packets &+ count.packets)
            }
        }
        var bytes = MetricFamily("netmon_nic_queue_bytes", .counter,
                                 help: "Bytes per interface queue as the device counts them (link-layer header included but on loopback), since netmon started")
        var packets = MetricFamily("netmon_nic_queue_packets", .counter,
                                   help: "Packets (GSO/GRO buffers count once) per interface queue, since netmon started")
        for key in totals.keys.sorted() where only?.contains(key.interface) ?? true {
            let labels = [Label("device", key.interface), Label("queue", String(key.queue)),
                          Label("direction", key.transmit ? "tx" : "rx")]
            bytes.samples.append(Sample(labels, totals[key]!.bytes))
            packets.samples.append(Sample(labels, totals[key]!.packets))
        }
        return [bytes, packets]
    }

    struct PresentInterface {
        let ifindex: UInt32
        let name: String
        let txQueues: UInt16
        let rxQueues: UInt16
    }

    /// The interfaces of this network namespace now, with their queue counts, from sysfs (which
    /// `ip netns exec` and containers mount for their own namespace).
    static func presentInterfaces() -> [PresentInterface] {
        KernelFile.list("/sys/class/net").compactMap { name in
            let index = if_nametoindex(name)
            guard index != 0 else { return nil }
            let queues = KernelFile.list("/sys/class/net/\(name)/queues")
            return PresentInterface(ifindex: index, name: name,
                                    txQueues: UInt16(max(queues.filter { $0.hasPrefix("tx-") }.count, 1)),
                                    rxQueues: UInt16(max(queues.filter { $0.hasPrefix("rx-") }.count, 1)))
        }
    }
}
