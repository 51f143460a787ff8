import BPFKit
import CNetmonBPF
import Glibc

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
            throw JobFailure("inerrs: cannot read /proc/kallsyms, where the kernel's function addresses are")
        }
        let ranges = try self.ranges(kallsyms: text)
        var config = inerrs_legacy_config()
        withUnsafeMutableBytes(of: &config.ranges) { raw in
            let slots = raw.bindMemory(to: inerrs_code_range.self)
            for (index, range) in ranges.prefix(slots.count).enumerated() { slots[index] = range }
        }
        return config
    }

    /// The ranges of `places` in a /proc/kallsyms text ("ffffffff81a2b3c0 T tcp_v4_rcv\t[module]").
    static func ranges(kallsyms text: String) throws -> [inerrs_code_range] {
        var text = text
        // Read byte by byte with C's help: the file has ~200,000 lines, and netmon must start fast
        // even as a debug build in a VM without KVM.
        let symbols = text.withUTF8 { codeSymbols(in: $0) }
        var found: [(function: String, start: UInt64, place: inerrs_legacy_place)] = []
        for symbol in symbols.named {
            let name = symbol.name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? ""
            guard let entry = places.first(where: { $0.function == name }) else { continue }
            found.append((name, symbol.address, entry.place))
        }
        // IPv6 may be a module that is not loaded; IPv4 is always there.
        let missing = ["tcp_v4_rcv", "tcp_v4_do_rcv"].filter { function in !found.contains { $0.function == function } }
        guard missing.isEmpty else {
            throw JobFailure("inerrs: /proc/kallsyms shows no address for \(missing.joined(separator: ", ")) (run as root, with kernel.kptr_restrict below 2)")
        }
        guard found.count <= Int(INERRS_LEGACY_RANGES) else {
            throw JobFailure("inerrs: the kernel splits its TCP receive functions into \(found.count) parts; netmon handles \(INERRS_LEGACY_RANGES)")
        }
        let starts = symbols.addresses.sorted()
        return found.map { entry in
            var index = starts.partitionPoint { $0 <= entry.start }
            while index < starts.count && starts[index] == entry.start { index += 1 }
            let end = index < starts.count ? starts[index] : entry.start + 4096
            return inerrs_code_range(start: entry.start, end: end, place: entry.place.rawValue, reserved: 0)
        }
    }

    /// Every code symbol's address (non-zero), and the names of those that start with "tcp_v".
    private static func codeSymbols(in bytes: UnsafeBufferPointer<UInt8>)
        -> (addresses: [UInt64], named: [(name: String, address: UInt64)]) {
        var addresses: [UInt64] = []
        var named: [(name: String, address: UInt64)] = []
        guard let base = bytes.baseAddress else { return (addresses, named) }
        let prefix = Array("tcp_v".utf8)
        var line = base
        let end = base + bytes.count
        while line < end {
            let newline = memchr(line, 0x0a, line.distance(to: end)).map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) } ?? end
            defer { line = newline + 1 }
            guard let space = memchr(line, 0x20, line.distance(to: newline)).map({ UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) }),
                  space.distance(to: newline) > 3, space[1] == UInt8(ascii: "t") || space[1] == UInt8(ascii: "T"),
                  space[2] == 0x20 else { continue }
            var address: UInt64 = 0
            for digit in UnsafeBufferPointer(start: line, count: line.distance(to: space)) {
                guard let value = hexValue(digit) else { address = 0; break }
                address = address << 4 | UInt64(value)
            }
            guard address != 0 else { continue }
            addresses.append(address)
            let name = space + 3
            guard name.distance(to: newline) >= prefix.count, memcmp(name, prefix, prefix.count) == 0 else { continue }
            let nameEnd = memchr(name, 0x09, name.distance(to: newline)).map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) } ?? newline
            named.append((String(decoding: UnsafeBufferPointer(start: name, count: name.distance(to: nameEnd)), as: UTF8.self), address))
        }
        return (addresses, named)
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
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
