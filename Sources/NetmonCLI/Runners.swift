import BPFKit

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

    /// After a burst, how long records may gather before the next read.
    ///
    /// The kernel wakes the reader for a record only when the reader had caught up, and that wakeup
    /// (an irq_work self-IPI) costs about 1 µs per record on a virtual machine, several times the BPF
    /// program itself. A reader fast enough to catch up after every record pays it on every event;
    /// one that pauses after a burst has not caught up, so the rest of the burst costs no wakeup.
    /// A lone event is still printed at once; a burst's lines are late by at most the pause.
    static let pauseAfterBurst: UInt64 = 1_000_000  // ns

    /// Hands ring-buffer records to their handlers as they arrive, flushing the output after each
    /// burst and reporting lost events. A handler ends the run normally by throwing `NormalEnd`
    /// (its count reached); a stop signal or a closed output ends it too.
    public static func forEachEvent(of object: borrowing BPFObject, loop: EventLoop, output: OutputWriter,
                                    lost: LostEvents?) throws {
        guard let fd = object.ringBufferFD else { return }
        defer { lost?.report() }
        var inBurst = false
        while true {
            let wake = inBurst ? loop.wait(until: MonotonicClock.now + pauseAfterBurst)
                               : loop.wait(until: nil, readable: fd)
            if wake == .stop || wake == .outputClosed {
                try output.flush()
                return
            }
            let records: Int
            do {
                records = try object.consumeRingBuffers()
            } catch is NormalEnd {
                try output.flush()
                return
            }
            try output.flush()
            lost?.report()
            inBurst = records > 0
        }
    }
}
