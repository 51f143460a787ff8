import Glibc

/// A moment on the wall clock, with the renderings netmon prints.
public struct WallTime: Sendable, Equatable {
    public let seconds: Int
    public let nanoseconds: Int

    public init(seconds: Int, nanoseconds: Int) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    public static var now: WallTime {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return WallTime(seconds: time.tv_sec, nanoseconds: time.tv_nsec)
    }

    /// The wall time of a CLOCK_MONOTONIC reading (a BPF event's bpf_ktime_get_ns()), by the
    /// current offset between the two clocks.
    public static func ofMonotonic(_ monotonic: UInt64) -> WallTime {
        let wall = now
        let nowMonotonic = MonotonicClock.now
        let wallNanos = Int64(wall.seconds) * 1_000_000_000 + Int64(wall.nanoseconds)
        let eventNanos = wallNanos - (Int64(bitPattern: nowMonotonic) - Int64(bitPattern: monotonic))
        return WallTime(seconds: Int(eventNanos / 1_000_000_000), nanoseconds: Int(eventNanos % 1_000_000_000))
    }

    private var local: tm {
        var time = time_t(seconds)
        var parts = tm()
        localtime_r(&time, &parts)
        return parts
    }

    private func format(_ pattern: String) -> String {
        var parts = local
        var buffer = [CChar](repeating: 0, count: 64)
        let length = strftime(&buffer, buffer.count, pattern, &parts)
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// RFC 3339 local time with microseconds: "2026-11-24T19:40:01.123456+01:00".
    public var rfc3339: String {
        let parts = local
        let offset = parts.tm_gmtoff
        let sign = offset < 0 ? "-" : "+"
        let hours = abs(offset) / 3600, minutes = abs(offset) % 3600 / 60
        let micros = nanoseconds / 1000
        return format("%Y-%m-%dT%H:%M:%S") + "." + pad(micros, 6) + sign + pad(hours, 2) + ":" + pad(minutes, 2)
    }

    /// "19:40:01", for event tables.
    public var clock: String { format("%H:%M:%S") }

    /// "Tue Nov 24 19:40:01 2026", for interval headers.
    public var header: String { format("%a %b %e %H:%M:%S %Y") }

    private func pad(_ number: Int, _ width: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
