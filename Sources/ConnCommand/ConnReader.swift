import BPFKit
import NetmonCLI

/// Reads conn's ring buffer like `Runner.forEachEvent`, with one difference: after a burst it
/// lets records gather for a millisecond before reading again, instead of going back to sleep on
/// the ring buffer at once.
///
/// Why: the kernel wakes the reader for a record only when the reader had caught up, and that
/// wakeup (an irq_work self-IPI) costs about 1 µs per record on a virtual machine, several times
/// the rest of the BPF program. A reader that is fast enough to catch up after every record pays
/// it on every connection. While this reader pauses, it has not caught up, so the records of a
/// burst cost no wakeup; a lone connection is still printed at once, and a burst's lines are late
/// by at most the pause.
enum ConnReader {
    static let pauseAfterBurst: UInt64 = 1_000_000  // ns

    static func forEachEvent(of object: borrowing BPFObject, loop: EventLoop, output: OutputWriter,
                             lost: LostEvents) throws {
        guard let fd = object.ringBufferFD else { return }
        defer { lost.report() }
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
            lost.report()
            inBurst = records > 0
        }
    }
}
