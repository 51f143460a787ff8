import BPFKit
import NetmonCLI
import NetmonJobs

/// `netmon_tcp_connections_total{direction,family,comm}`: connections established, counted as
/// `netmon conn` prints them (connect when the handshake completes, accept when accept() returns).
final class ConnSource: MetricSource, @unchecked Sendable {
    let name = "conn"
    private let job: ConnJob
    private let series: ProcessSeries
    private let consuming = Lock()

    init(chooser: VariantChooser, series: ProcessSeries) throws {
        job = try ConnJob(ConnFilter(), chooser: chooser)
        self.series = series
        try job.onEvent { connection in
            series.add(.connections, direction: connection.direction.rawValue, family: connection.local.version,
                       comm: connection.comm)
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
        return [series.family(.connections, "netmon_tcp_connections", help: "TCP connections established (connect) or accepted (accept) since netmon started, by process name")]
    }
}
