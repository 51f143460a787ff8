import BPFKit
import NetmonCLI
import NetmonJobs

/// `netmon_tcp_bytes_total{direction,family,comm}`: TCP bytes moved by send and receive calls,
/// counted as `netmon bytes` counts them and summed per process name. The kernel's flow maps are
/// drained at every poll tick and scrape into these counters, so connections and processes that
/// ended keep their contribution.
final class BytesSource: MetricSource, @unchecked Sendable {
    let name = "bytes"
    private let job: BytesJob
    private let series: ProcessSeries
    /// Drains come from both threads; FlowMaps' map flip must not interleave.
    private let lock = Lock()
    private var pace = DrainPace()

    init(chooser: VariantChooser, series: ProcessSeries) throws {
        job = try BytesJob(BytesJob.everything, chooser: chooser)
        self.series = series
    }

    /// Drains about once a second: the flow maps hold 16384 process/connection pairs per drain.
    func poll() throws {
        guard pace.isDue() else { return }
        try drain()
    }

    private func drain() throws {
        try lock.withLock {
            for moved in try job.drain() {
                if moved.rxBytes > 0 {
                    series.add(.bytes, direction: "rx", family: moved.version, comm: moved.comm, amount: moved.rxBytes)
                }
                if moved.txBytes > 0 {
                    series.add(.bytes, direction: "tx", family: moved.version, comm: moved.comm, amount: moved.txBytes)
                }
            }
        }
    }

    func lostEvents() -> UInt64 { lock.withLock { job.lostEvents } }

    func collect() throws -> [MetricFamily] {
        try drain()
        return [series.family(.bytes, "netmon_tcp_bytes", help: "TCP bytes received (rx) and sent (tx) by send/receive calls since netmon started, by process name")]
    }
}
