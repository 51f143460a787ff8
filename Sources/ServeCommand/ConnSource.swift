import BPFKit
import ConnCommand
import NetmonCLI

/// `netmon_tcp_connections_total{direction,family,comm}`: connections established, counted as
/// `netmon conn` prints them (connect when the handshake completes, accept when accept() returns).
final class ConnSource: MetricSource, @unchecked Sendable {
    let name = "conn"
    private let object: BPFObject
    private let lost: BPFMap
    private let series: ProcessSeries
    private let consuming = Mutex()

    init(_ context: RunContext, series: ProcessSeries) throws {
        var object = try ConnFeed.load(context)
        try object.attachAll()
        self.series = series
        try object.readRingBuffer(ConnFeed.events) { record in
            guard let connection = ConnFeed.decode(record) else { return }
            series.add(.connections, direction: connection.accepted ? "accept" : "connect", family: connection.ipVersion,
                       comm: connection.comm)
        }
        lost = try object.map(named: "lost_events")
        self.object = object
    }

    /// Reads the ring buffer: from the main thread's tick, and before every scrape so that a
    /// scrape counts every event up to its moment. libbpf's reader is not for two threads at once.
    func poll() throws {
        try consuming.withLock { _ = try object.consumeRingBuffers() }
    }

    func lostEvents() -> UInt64 { (try? lost.sumPerCPU(UInt32(0))) ?? 0 }

    func collect() throws -> [MetricFamily] {
        try poll()
        return [series.family(.connections, "netmon_tcp_connections", help: "TCP connections established (connect) or accepted (accept) since netmon started, by process name")]
    }
}
