import BPFKit
import Glibc
import NetmonCLI
import NetmonJobs

/// A network interface of the namespace netmon runs in, identified the way the kernel does:
/// by ifindex and network namespace, never by name (two namespaces can both have an `eth0`).
struct Interface {
    let name: String
    let index: UInt32

    /// Throws a usage error (exit status 2) when there is no such interface.
    init(named name: String) throws {
        let index = if_nametoindex(name)
        guard index != 0 else {
            throw UsageError("no such interface '\(name)'", command: NicCommand.name)
        }
        self.name = name
        self.index = index
    }

    /// Whether the interface still exists (by index, so a rename does not count as gone).
    var exists: Bool { currentName != nil }

    /// Its name now (`ip link set NAME name NEW` renames it while watched); nil once it is gone.
    var currentName: String? {
        var buffer = [CChar](repeating: 0, count: Int(IF_NAMESIZE))
        guard if_indextoname(index, &buffer) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether the device's byte counters include the link-layer header. Every driver's do but the
    /// loopback driver's, which counts after eth_type_trans has pulled the Ethernet header.
    var countsLinkHeader: Bool {
        let flags = KernelFile.value("/sys/class/net/\(name)/flags").flatMap { UInt32($0.dropFirst(2), radix: 16) } ?? 0
        return flags & UInt32(IFF_LOOPBACK) == 0
    }

    /// The device's queue counts (real_num_tx_queues, real_num_rx_queues), from sysfs; 1 each when
    /// sysfs does not show them.
    var queueCounts: (tx: Int, rx: Int) {
        let entries = KernelFile.list("/sys/class/net/\(currentName ?? name)/queues")
        let tx = entries.filter { $0.hasPrefix("tx-") }.count
        let rx = entries.filter { $0.hasPrefix("rx-") }.count
        return (max(tx, 1), max(rx, 1))
    }
}
