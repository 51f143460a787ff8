/// Rejected segments the kernel counted for one reason and family since the job was made
/// (`InerrsJob.counts()`).
public struct RejectedCount: Hashable, Sendable {
    /// The kernel's name for the reason (SKB_DROP_REASON_ stripped), as `netmon inerrs` prints it.
    public let reason: String
    public let ipVersion: Int
    public let segments: UInt64
}
