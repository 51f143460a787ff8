import BPFKit
import CNetmonBPF
import NetmonJobs

/// The two shapes of a netmon run: a report every interval, or events as they come.
public enum Runner {
    /// Calls `report` with the seconds since the previous report (measured, not nominal) every
    /// `interval` seconds, until `count` reports were made, a stop signal arrives or the output's
    /// reader goes away. Ticks stay on the start's grid, so reports do not drift.
    public static func everyInterval(_ interval: Double, count: Int?, loop: EventLoop,
                                     report: (_ elapsed: Double) throws -> Void) throws {
        let step = UInt64(interval * 1e9)
        var previous = MonotonicClock.now
        var deadline = previous + step
        var made = 0
        while true {
            switch loop.wait(until: deadline) {
            case .stop, .outputClosed:
                return
            case .deadline, .readable:
                let now = MonotonicClock.now
                try report(Double(now - previous) / 1e9)
                previous = now
                made += 1
                if let count, made >= count { return }
                deadline += step
                if deadline <= now { deadline = now + step }  // we were suspended: skip missed ticks
            }
        }
    }

    /// While reading, how long records may gather before the next read.
    ///
    /// The BPF programs wake the reader at most once per NETMON_WAKEUP_WINDOW_NS
    /// (netmon/ringbuf.h): a wakeup (an irq_work self-IPI) costs the program about 5 µs on a
    /// virtual machine, ten times its own cost. Records in between come without a wakeup, so
    /// after any activity the reader keeps reading, pausing this long between reads, until it has
    /// seen nothing for longer than the window; only then does it sleep until woken. A lone event
    /// is printed at once; a burst's lines are late by at most the pause.
    static let pauseBetweenReads: UInt64 = 1_000_000  // ns

    /// How long after the last record or wakeup the reader keeps reading before it sleeps: more
    /// than the programs' window, so that a record submitted without a wakeup is always read.
    static let keepReadingFor: UInt64 = UInt64(NETMON_WAKEUP_WINDOW_NS) + 2 * pauseBetweenReads

    /// Work an event-reading run repeats while it runs (inerrs: the rescan of every process's
    /// open files). It runs on the reading thread, after the records waiting at the time were
    /// printed and flushed, so it never delays a line already read; records arriving meanwhile
    /// wait in the ring buffer for its duration.
    public struct Housekeeping {
        /// Nanoseconds from the start of the reading, and from the end of each run, to the next run.
        public let period: UInt64
        public let work: (borrowing BPFObject) throws -> Void

        public init(every period: UInt64, _ work: @escaping (borrowing BPFObject) throws -> Void) {
            self.period = period
            self.work = work
        }
    }

    /// Hands ring-buffer records to their handlers as they arrive, flushing the output after each
    /// burst and reporting lost events, and runs `housekeeping` every period. A handler ends the
    /// run normally by throwing `NormalEnd` (its count reached); a stop signal or a closed output
    /// ends it too.
    public static func forEachEvent(of object: borrowing BPFObject, loop: EventLoop, output: OutputWriter,
                                    lost: LostEvents?, housekeeping: Housekeeping? = nil) throws {
        guard let fd = object.ringBufferFD else { return }
        defer { lost?.report() }
        var lastActivity: UInt64?
        var nextHousekeeping = housekeeping.map { MonotonicClock.now + $0.period }
        while true {
            let now = MonotonicClock.now
            let reading = lastActivity.map { now &- $0 < keepReadingFor } ?? false
            let wake = reading
                ? loop.wait(until: min(now + pauseBetweenReads, nextHousekeeping ?? .max))
                : loop.wait(until: nextHousekeeping, readable: fd)
            if wake == .stop || wake == .outputClosed {
                try output.flush()
                return
            }
            if wake == .readable { lastActivity = MonotonicClock.now }
            let records: Int
            do {
                records = try object.consumeRingBuffers()
            } catch is NormalEnd {
                try output.flush()
                return
            }
            if records > 0 {
                lastActivity = MonotonicClock.now
                try output.flush()
                lost?.report()
            }
            if let housekeeping, let due = nextHousekeeping, MonotonicClock.now >= due {
                try housekeeping.work(object)
                nextHousekeeping = MonotonicClock.now + housekeeping.period
            }
        }
    }
}
