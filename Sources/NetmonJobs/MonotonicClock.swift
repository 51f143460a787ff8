import Glibc

/// CLOCK_MONOTONIC in nanoseconds: the clock BPF's bpf_ktime_get_ns() reads, and the one
/// intervals are measured on.
public enum MonotonicClock {
    public static var now: UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
