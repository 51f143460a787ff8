/// What `netmon serve` exposes, one source per job: it loads and attaches its programs when made,
/// drains whatever the kernel sends between scrapes (`poll`, on the main thread), and reports its
/// counters (`collect`, on the HTTP thread). Releasing the source detaches and unloads everything.
///
/// Counters only grow: what sockets and processes that went away contributed stays counted.
protocol MetricSource: AnyObject, Sendable {
    /// The `source` label of `netmon_lost_events_total`.
    var name: String { get }
    /// Reads the ring buffers, if the source has any. Never blocks.
    func poll() throws
    /// The families this source exposes, as of now.
    func collect() throws -> [MetricFamily]
    /// What the kernel could not count or hand over (0 where it counts everything itself).
    func lostEvents() -> UInt64
}

extension MetricSource {
    func poll() throws {}
}
