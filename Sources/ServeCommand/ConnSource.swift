import BPFKit
import NetmonCLI
import NetmonJobs

/// `netmon_tcp_connections_total{direction,family,comm}`: connections established, counted as
/// `netmon conn` prints them (connect when the handshake completes, accept when accept() returns).
final class ConnSource: MetricSource, @unchecked Sendable {
    let name = "conn"
    private let job: ConnJob
    private let counts = CounterTable<ProcessKey>()
    private let consuming = Lock()

    init(chooser: VariantChooser, comms: CommLabels) throws {
        job = try ConnJob(ConnFilter(), chooser: chooser)
        let counts = counts
        try job.onEvent { connection in
            let family = connection.local.version
            counts.add(ProcessKey(direction: connection.direction.rawValue, family: family,
                                  comm: comms.label(connection.comm, family: family)))
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
        return [counts.family("netmon_tcp_connections", help: "TCP connections established (connect) or accepted (accept) since netmon started, by process name")]
    }
}
