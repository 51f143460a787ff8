/// Bounds the `comm` label: the first `limit` distinct process names of each address family get
/// a label of their own, later ones are counted under comm="other". Shared by the conn and bytes
/// metrics, so a name has the same label in both.
final class CommLabels: @unchecked Sendable {
    static let other = "other"
    /// Names folded are remembered (to count each once) up to this many per family.
    static let rememberedFolds = 65536

    let limit: Int
    private let lock = Lock()
    private var admitted: [Int: Set<String>] = [:]
    private var folded: [Int: Set<String>] = [:]
    private var foldedBeyondMemory: [Int: UInt64] = [:]

    static let defaultLimit = 256

    init(limit: Int = defaultLimit) {
        self.limit = limit
    }

    /// The label value for `comm` of IP version `family`.
    func label(_ comm: String, family: Int) -> String {
        lock.withLock {
            if admitted[family]?.contains(comm) == true { return comm }
            if admitted[family, default: []].count < limit {
                admitted[family, default: []].insert(comm)
                return comm
            }
            if folded[family, default: []].count < Self.rememberedFolds {
                folded[family, default: []].insert(comm)
            } else if folded[family]?.contains(comm) != true {
                foldedBeyondMemory[family, default: 0] += 1  // may count a name more than once
            }
            return Self.other
        }
    }

    /// `netmon_comm_folded_total{family}`: distinct names counted under comm="other".
    func family() -> MetricFamily {
        lock.withLock {
            var family = MetricFamily("netmon_comm_folded", .counter,
                                      help: "Distinct process names beyond the first \(limit) per family, counted under comm=\"other\"")
            for version in [4, 6] {
                let count = UInt64(folded[version]?.count ?? 0) + (foldedBeyondMemory[version] ?? 0)
                family.samples.append(Sample([Label("family", String(version))], count))
            }
            return family
        }
    }
}

/// Counters by label set, written by one thread and read by another.
final class CounterTable<Key: Hashable & Comparable & Sendable>: @unchecked Sendable {
    private let lock = Lock()
    private var counts: [Key: UInt64] = [:]

    func add(_ key: Key, _ amount: UInt64 = 1) {
        lock.withLock { counts[key, default: 0] &+= amount }
    }

    /// Makes `key` exist (at 0) so that it is exposed before its first event.
    func touch(_ key: Key) {
        lock.withLock { if counts[key] == nil { counts[key] = 0 } }
    }

    var sorted: [(key: Key, value: UInt64)] {
        lock.withLock { counts.sorted { $0.key < $1.key } }
    }
}
