import BPFKit
import NetmonCLI
import NetmonJobs

/// `netmon_tcp_connections_total{direction,family,comm}`: connections established, counted as
/// `netmon conn` prints them (connect when the handshake completes, accept when accept() returns).
/// The kernel counts every connection by (direction, family, name) (ConnJob, countOnly); each
/// drain hands over what every name gained since the previous one, added into ProcessSeries, so a
/// counter never goes backwards and an idle name still expires. Connections that found the
/// kernel's name map full are counted under the overflow label.
final class ConnSource: MetricSource, @unchecked Sendable {
    let name = "conn"
    private let job: ConnJob
    private let series: ProcessSeries
    /// Drains come from both threads; the name maps' flip must not interleave.
    private let lock = Lock()
    private var pace = DrainPace()

    init(chooser: VariantChooser, series: ProcessSeries) throws {
        job = try ConnJob(ConnFilter(countOnly: true), chooser: chooser)
        self.series = series
    }

    /// Drains about once a second, so that the kernel's name map holds one second's names (a
    /// process cycling names cannot keep it full) even when nobody scrapes.
    func poll() throws {
        guard pace.isDue() else { return }
        try drain()
    }

    private func drain() throws {
        try lock.withLock {
            for count in try job.drainCounts() {
                series.add(.connections, direction: count.direction.rawValue, family: count.ipVersion, comm: count.comm,
                           amount: count.connections)
            }
        }
    }

    /// Nothing is lost: the kernel counts every connection itself (no events, no ring buffer).
    func lostEvents() -> UInt64 { 0 }

    func collect() throws -> [MetricFamily] {
        try drain()
        return [series.family(.connections, "netmon_tcp_connections", help: "TCP connections established (connect) or accepted (accept) since netmon started, by process name")]
    }
}
