import BPFKit
import NetmonCLI
import NetmonJobs

/// `netmon_tcp_rejected_segments_total{reason,family}`: incoming TCP segments the kernel rejected,
/// counted as `netmon inerrs` prints them (its default reason set), with the running kernel's
/// reason names. Every reported reason is exposed from the start, at 0.
final class InerrsSource: MetricSource, @unchecked Sendable {
    struct Key: Hashable, Comparable, Sendable {
        let reason: String
        let family: Int
        static func < (a: Key, b: Key) -> Bool { (a.reason, a.family) < (b.reason, b.family) }
    }

    let name = "inerrs"
    private let job: InerrsJob
    private let counts = CounterTable<Key>()
    private let consuming = Lock()

    init(chooser: VariantChooser) throws {
        job = try InerrsJob(InerrsJob.Configuration(), chooser: chooser)
        for reason in job.reportedReasons {
            for family in [4, 6] { counts.touch(Key(reason: reason, family: family)) }
        }
        let counts = counts
        try job.onEvent { rejected in
            counts.add(Key(reason: rejected.reason, family: rejected.ipVersion))
        }
    }

    /// Reads the ring buffer: from the main thread's tick, and before every scrape so that a
    /// scrape counts every event up to its moment. libbpf's reader is not for two threads at once.
    func poll() throws {
        try consuming.withLock { try job.consume() }
    }

    func lostEvents() -> UInt64 { job.lostEvents }

    func collect() throws -> [MetricFamily] {
        try poll()
        var family = MetricFamily("netmon_tcp_rejected_segments", .counter,
                                  help: "Incoming TCP segments the kernel rejected since netmon started, by the kernel's drop reason")
        for (key, value) in counts.sorted {
            family.samples.append(Sample([Label("reason", key.reason), Label("family", String(key.family))], value))
        }
        return [family]
    }
}
