import NetmonCLI
import NetmonJobs

/// serve's per-process counters (connections and bytes, by direction, family and `comm`) and the
/// cap on their `comm` label, kept together so that a name's slot and its series come and go as one.
///
/// The cap: at most `limit` names per address family have series of their own; the others are
/// counted under `comm="(other processes)"`, which no process can be named (a comm is at most 15
/// bytes; this is 17). A name none of whose counters moved for `ttl` seconds expires: its series
/// disappear and its slot is free, so a name seen once, or a burst of invented names, does not
/// hold a slot for ever. While a series exists its counter never goes backwards; a name that comes
/// back after expiring starts again from 0, which Prometheus reads as a counter reset.
final class ProcessSeries: @unchecked Sendable {
    enum Metric: CaseIterable { case connections, bytes }

    static let overflow = "(other processes)"
    static let defaultLimit = 256
    static let defaultTTL = 600.0
    /// Names folded are remembered (to count each once) up to this many per family.
    static let rememberedFolds = 65536

    let limit: Int
    let ttl: Double
    private let ttlNanoseconds: UInt64
    private let lock = Lock()
    /// family → admitted name → when one of its counters last moved (monotonic ns).
    private var admitted: [Int: [String: UInt64]] = [:]
    private var counts: [Metric: [ProcessKey: UInt64]] = [:]
    private var folded: [Int: Set<String>] = [:]
    private var foldedBeyondMemory: [Int: UInt64] = [:]
    private var lastSweep: UInt64 = 0

    init(limit: Int = defaultLimit, ttl: Double = defaultTTL) {
        self.limit = limit
        self.ttl = ttl
        ttlNanoseconds = UInt64(ttl * 1e9)
    }

    /// Counts `amount` for a process name (as `TaskName.text` gives it) at monotonic time `now`;
    /// a nil name (one the kernel could not keep) counts under the overflow label, as no name.
    func add(_ metric: Metric, direction: String, family: Int, comm: String?, amount: UInt64 = 1,
             now: UInt64 = MonotonicClock.now) {
        lock.withLock {
            sweep(now: now)
            let label = comm.map { labelLocked($0, family: family, now: now) } ?? Self.overflow
            counts[metric, default: [:]][ProcessKey(direction: direction, family: family, comm: label), default: 0] &+= amount
        }
    }

    /// The label `comm` gets (admitting it when there is room), without counting anything.
    func label(_ comm: String, family: Int, now: UInt64 = MonotonicClock.now) -> String {
        lock.withLock {
            sweep(now: now)
            return labelLocked(comm, family: family, now: now)
        }
    }

    private func labelLocked(_ comm: String, family: Int, now: UInt64) -> String {
        if admitted[family]?[comm] != nil || admitted[family, default: [:]].count < limit {
            admitted[family, default: [:]][comm] = now
            return comm
        }
        if folded[family, default: []].count < Self.rememberedFolds {
            folded[family, default: []].insert(comm)
        } else if folded[family]?.contains(comm) != true {
            foldedBeyondMemory[family, default: 0] += 1  // may count a name more than once
        }
        return Self.overflow
    }

    /// Expires the names idle for longer than the TTL, with their series. At most once a second.
    private func sweep(now: UInt64) {
        guard now &- lastSweep >= 1_000_000_000 else { return }
        lastSweep = now
        struct Name: Hashable { let family: Int, comm: String }
        var expired: Set<Name> = []
        for (family, names) in admitted {
            for (comm, active) in names where now > active && now - active > ttlNanoseconds {
                admitted[family]![comm] = nil
                expired.insert(Name(family: family, comm: comm))
            }
        }
        guard !expired.isEmpty else { return }
        for metric in Metric.allCases {
            counts[metric] = counts[metric]?.filter { key, _ in !expired.contains(Name(family: key.family, comm: key.comm)) }
        }
    }

    /// One metric's counters as a family with labels {direction, family, comm}, in that order.
    func family(_ metric: Metric, _ name: String, help: String, now: UInt64 = MonotonicClock.now) -> MetricFamily {
        lock.withLock {
            sweep(now: now)
            let sorted = (counts[metric] ?? [:]).sorted { $0.key < $1.key }
            return MetricFamily(name, .counter, help: help, samples: sorted.map { key, value in
                Sample([Label("direction", key.direction), Label("family", String(key.family)), Label("comm", key.comm)], value)
            })
        }
    }

    /// `netmon_comm_folded_total{family}`: distinct names counted under the overflow label.
    func foldedFamily() -> MetricFamily {
        lock.withLock {
            var family = MetricFamily("netmon_comm_folded", .counter,
                                      help: "Distinct process names counted under comm=\"\(Self.overflow)\" because \(limit) names of their family had series")
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
