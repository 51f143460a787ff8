import Foundation

extension VethPair {
    /// Stops the pair from sending anything the test did not send itself: IPv6 off on both ends
    /// (no DAD, router solicitations or multicast-listener reports) and permanent neighbour entries
    /// (no ARP). Afterwards a device counter moves only with the test's own traffic, so a check can
    /// compare a count with it exactly, not within a margin.
    func silence() throws {
        let macA = try sh(inA("cat /sys/class/net/va/address")).trimmingCharacters(in: .whitespacesAndNewlines)
        let macB = try sh(inB("cat /sys/class/net/vb/address")).trimmingCharacters(in: .whitespacesAndNewlines)
        try sh("""
            set -e
            \(inA("sysctl -qw net.ipv6.conf.va.disable_ipv6=1")); \(inB("sysctl -qw net.ipv6.conf.vb.disable_ipv6=1"))
            \(inA("ip neigh replace \(addressB) lladdr \(macB) dev va nud permanent"))
            \(inB("ip neigh replace \(addressA) lladdr \(macA) dev vb nud permanent"))
            """)
    }
}

/// Device statistics of one interface, read from /sys/class/net/IFACE/statistics in a namespace.
struct DeviceCounters: Equatable {
    var txBytes: UInt64, txPackets: UInt64, rxBytes: UInt64, rxPackets: UInt64

    /// One process reads all four (a process start is costly in a VM without KVM).
    init(_ device: String, namespace: String?) throws {
        let path = "/sys/class/net/\(device)/statistics"
        let read = "cat \(path)/tx_bytes \(path)/tx_packets \(path)/rx_bytes \(path)/rx_packets"
        let text = try sh(namespace.map { "ip netns exec \($0) \(read)" } ?? read)
        let values = text.split(separator: "\n").compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        guard values.count == 4 else {
            throw ShellError(command: read, status: 0, stderr: "not four counters: \(text)")
        }
        (txBytes, txPackets, rxBytes, rxPackets) = (values[0], values[1], values[2], values[3])
    }

    /// The counters once they stopped moving (two reads `pause` seconds apart agree): the traffic a
    /// test started has been sent and answered.
    static func settled(_ device: String, namespace: String?, pause: Double = 0.3) throws -> DeviceCounters {
        var last = try DeviceCounters(device, namespace: namespace)
        for _ in 0..<50 {
            usleep(UInt32(pause * 1_000_000))
            let now = try DeviceCounters(device, namespace: namespace)
            if now == last { return now }
            last = now
        }
        return last
    }

    static func - (after: DeviceCounters, before: DeviceCounters) -> DeviceCounters {
        var difference = after
        difference.txBytes -= before.txBytes
        difference.txPackets -= before.txPackets
        difference.rxBytes -= before.rxBytes
        difference.rxPackets -= before.rxPackets
        return difference
    }
}
