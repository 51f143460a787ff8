import BPFKit
import NetmonCLI
import NetmonJobs

/// `netmon_tcp_rejected_segments_total{reason,family}`: incoming TCP segments the kernel rejected,
/// counted as `netmon inerrs` prints them (its default reason set), with the running kernel's
/// reason names. The kernel counts every segment in its map (InerrsJob, countOnly), read at each
/// scrape, so the counters are exact under any flood. Every reported reason is exposed from the
/// start, at 0.
final class InerrsSource: MetricSource, @unchecked Sendable {
    struct Key: Hashable, Comparable, Sendable {
        let reason: String
        let family: Int
        static func < (a: Key, b: Key) -> Bool { (a.reason, a.family) < (b.reason, b.family) }
    }

    let name = "inerrs"
    private let job: InerrsJob

    init(chooser: VariantChooser) throws {
        job = try InerrsJob(InerrsJob.Configuration(countOnly: true), chooser: chooser)
    }

    /// The kernel counts every segment itself (no events, no ring buffer); what may escape is a
    /// drop while a drop program already runs on that CPU, which the kernel skips and counts.
    func lostEvents() -> UInt64 { (try? job.missedDrops()) ?? 0 }

    func collect() throws -> [MetricFamily] {
        var family = MetricFamily("netmon_tcp_rejected_segments", .counter,
                                  help: "Incoming TCP segments the kernel rejected since netmon started, by the kernel's drop reason")
        var totals: [Key: UInt64] = [:]
        for count in try job.counts() {
            totals[Key(reason: count.reason, family: count.ipVersion), default: 0] &+= count.segments
        }
        for (key, value) in totals.sorted(by: { $0.key < $1.key }) {
            family.samples.append(Sample([Label("reason", key.reason), Label("family", String(key.family))], value))
        }
        return [family]
    }
}
