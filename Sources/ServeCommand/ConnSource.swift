import BPFKit
import ConnCommand
import NetmonCLI

/// `netmon_tcp_connections_total{direction,family,comm}`: connections established, counted as
/// `netmon conn` prints them (connect when the handshake completes, accept when accept() returns).
/// The kernel counts every connection in its maps (ConnFeed); a scrape reads the totals and adds
/// what each process name gained since the last scrape under the label `comms` gives it now, so a
/// counter never goes backwards whatever the label policy does. Connections counted after the
/// kernel's map of names filled up have no name: they are counted under comm="other".
final class ConnSource: MetricSource, @unchecked Sendable {
    let name = "conn"
    private let object: BPFObject
    private let kernel: ConnFeed.Counts
    private let comms: CommLabels
    private let lock = Mutex()
    private var seen: [ConnFeed.Established: UInt64] = [:]
    private let counts = CounterTable<ProcessKey>()

    init(_ context: RunContext, comms: CommLabels) throws {
        var object = try ConnFeed.load(context)
        try object.attachAll()
        kernel = try ConnFeed.Counts(object)
        self.object = object
        self.comms = comms
    }

    /// Nothing is lost: the kernel counts every connection itself (no events, no ring buffer).
    func lostEvents() -> UInt64 { 0 }

    func collect() throws -> [MetricFamily] {
        try lock.withLock {
            for (established, total) in try kernel.read() {
                let gained = total &- (seen[established] ?? 0)
                guard gained > 0 else { continue }
                seen[established] = total
                let comm = established.comm.map { comms.label($0, family: established.ipVersion) } ?? CommLabels.other
                counts.add(ProcessKey(direction: established.accepted ? "accept" : "connect", family: established.ipVersion,
                                      comm: comm), gained)
            }
        }
        return [counts.family("netmon_tcp_connections", help: "TCP connections established (connect) or accepted (accept) since netmon started, by process name")]
    }
}
