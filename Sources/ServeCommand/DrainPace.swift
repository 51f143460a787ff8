import NetmonJobs

/// How often a source that drains kernel maps does so from the main thread's poll ticks (scrapes
/// drain whenever they come): once per period, so that the maps never hold more than one period's
/// entries even when nobody scrapes.
struct DrainPace {
    let period: UInt64
    private var last: UInt64 = 0

    init(every period: UInt64 = 1_000_000_000) {
        self.period = period
    }

    /// Whether a drain is due now; if so, the next one is a period away.
    mutating func isDue() -> Bool {
        let now = MonotonicClock.now
        guard now &- last >= period else { return false }
        last = now
        return true
    }
}
