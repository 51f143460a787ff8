import BPFKit
import NetmonJobs

/// Reports events the kernel could not hand over because the ring buffer was full.
///
/// Every netmon program that emits events counts a failed reservation in its per-CPU map
/// `lost_events` (BPFPrograms/netmon.bpf.h), which its job sums (`Job.lostEvents`); this prints
/// the growth, so no loss is ever silent: `netmon: lost 123 events (ring buffer full)`.
public final class LostEvents {
    private let job: any Job
    private let diagnostics: Diagnostics
    private var reported: UInt64 = 0

    public init(_ job: any Job, diagnostics: Diagnostics) {
        self.job = job
        self.diagnostics = diagnostics
    }

    /// Events lost since the start.
    public var total: UInt64 { job.lostEvents }

    /// Prints a line if more events were lost since the last report.
    public func report() {
        let now = total
        guard now > reported else { return }
        diagnostics.line("netmon: lost \(now - reported) events (ring buffer full)")
        reported = now
    }
}
