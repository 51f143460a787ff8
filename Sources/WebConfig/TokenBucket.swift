import Glibc

/// golang.org/x/time/rate's limiter: `burst` tokens, one more every `interval`.
struct TokenBucket {
    let burst: Double
    let interval: Double
    var tokens: Double
    var last: Double

    init(_ limit: WebConfig.RateLimit) {
        burst = Double(limit.burst)
        interval = limit.interval
        tokens = burst
        last = Self.now
    }

    mutating func take() -> Bool {
        let now = Self.now
        tokens = min(burst, tokens + (now - last) / interval)
        last = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    static var now: Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
