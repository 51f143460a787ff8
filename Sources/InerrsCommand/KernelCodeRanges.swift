import BPFKit
import CNetmonBPF
import NetmonCLI

/// Where the kernel functions that free rejected segments with kfree_skb() lie, from /proc/kallsyms:
/// the legacy drop program maps skb:kfree_skb's `location` (an address inside the function that
/// freed the segment) to one of them. A function's code runs to the next code symbol; its split-off
/// parts (`tcp_v4_rcv.cold`, `.constprop.0`, …) count as the function.
enum KernelCodeRanges {
    static let places: [(function: String, place: inerrs_legacy_place)] = [
        ("tcp_v4_rcv", INERRS_LEGACY_RECEIVE), ("tcp_v6_rcv", INERRS_LEGACY_RECEIVE),
        ("tcp_v4_do_rcv", INERRS_LEGACY_DO_RCV), ("tcp_v6_do_rcv", INERRS_LEGACY_DO_RCV),
    ]

    /// The configuration of the legacy programs for the running kernel.
    static func config() throws -> inerrs_legacy_config {
        guard let text = KernelFile.read("/proc/kallsyms") else {
            throw RuntimeFailure("inerrs: cannot read /proc/kallsyms, where the kernel's function addresses are")
        }
        let ranges = try self.ranges(kallsyms: text)
        var config = inerrs_legacy_config()
        withUnsafeMutableBytes(of: &config.ranges) { raw in
            let slots = raw.bindMemory(to: inerrs_code_range.self)
            for (index, range) in ranges.prefix(slots.count).enumerated() { slots[index] = range }
        }
        return config
    }

    /// The ranges of `places` in a /proc/kallsyms text ("ffffffff81a2b3c0 T tcp_v4_rcv [module]").
    static func ranges(kallsyms text: String) throws -> [inerrs_code_range] {
        var starts: [UInt64] = []
        var found: [(function: String, start: UInt64, place: inerrs_legacy_place)] = []
        for line in text.split(separator: "\n") {
            // "ADDRESS TYPE NAME" and, for a module's symbols, "\t[MODULE]"; only code counts.
            let fields = line.split(maxSplits: 3, whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 3, fields[1] == "t" || fields[1] == "T",
                  let address = UInt64(fields[0], radix: 16), address != 0 else { continue }
            starts.append(address)
            let name = fields[2].split(separator: ".", maxSplits: 1).first.map(String.init) ?? ""
            guard let entry = places.first(where: { $0.function == name }) else { continue }
            found.append((name, address, entry.place))
        }
        // IPv6 may be a module that is not loaded; IPv4 is always there.
        let missing = ["tcp_v4_rcv", "tcp_v4_do_rcv"].filter { function in !found.contains { $0.function == function } }
        guard missing.isEmpty else {
            throw RuntimeFailure("inerrs: /proc/kallsyms shows no address for \(missing.joined(separator: ", ")) (run as root, with kernel.kptr_restrict below 2)")
        }
        guard found.count <= Int(INERRS_LEGACY_RANGES) else {
            throw RuntimeFailure("inerrs: the kernel splits its TCP receive functions into \(found.count) parts; netmon handles \(INERRS_LEGACY_RANGES)")
        }
        starts.sort()
        return found.map { entry in
            var index = starts.partitionPoint { $0 <= entry.start }
            while index < starts.count && starts[index] == entry.start { index += 1 }
            let end = index < starts.count ? starts[index] : entry.start + 4096
            return inerrs_code_range(start: entry.start, end: end, place: entry.place.rawValue, reserved: 0)
        }
    }
}

extension Array where Element == UInt64 {
    /// The index of the first element for which `belongs` is false (the array is partitioned).
    fileprivate func partitionPoint(_ belongs: (UInt64) -> Bool) -> Int {
        var low = 0, high = count
        while low < high {
            let middle = (low + high) / 2
            if belongs(self[middle]) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
