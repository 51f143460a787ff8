import BPFKit

/// Reports events the kernel could not hand over because the ring buffer was full.
///
/// Every netmon program that emits events counts a failed reservation in its per-CPU map
/// `lost_events` (BPFPrograms/netmon.bpf.h); this reads the sum and prints the growth, so no loss
/// is ever silent: `netmon: lost 123 events (ring buffer full)`.
public final class LostEvents {
    private let map: BPFMap
    private let diagnostics: Diagnostics
    private var reported: UInt64 = 0

    public init(map: BPFMap, diagnostics: Diagnostics) {
        self.map = map
        self.diagnostics = diagnostics
    }

    /// Events lost since the start.
    public var total: UInt64 { (try? map.sumPerCPU(UInt32(0))) ?? reported }

    /// Prints a line if more events were lost since the last report.
    public func report() {
        let now = total
        guard now > reported else { return }
        diagnostics.line("netmon: lost \(now - reported) events (ring buffer full)")
        reported = now
    }
}
