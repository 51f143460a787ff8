import BPFKit

/// One thing netmon watches in the kernel (nic, conn, bytes, inerrs), in the one shape its command
/// and `netmon serve` both use: made from a configuration by opening its embedded object, choosing
/// a variant of each part through a `VariantChooser`, configuring, loading and attaching; then read
/// through the job's typed readers. Releasing it detaches and unloads everything.
///
/// A field every job's records gain (a cgroup, say) is added to the jobs' record types here, once.
public protocol Job: AnyObject {
    /// What the caller decides: filters for a command, "everything" for serve.
    associatedtype Configuration

    /// The embedded object (BPFPrograms/NAME.bpf.c), and the first word of the parts' names.
    static var name: String { get }
    /// Its parts ("conn.connect", "conn.accept") with their variants, best first: what `netmon
    /// kernel` lists and NETMON_FORCE_VARIANT may force.
    static var parts: [VariantGroup] { get }

    /// Loads and attaches the programs `configuration` needs, in the variants `chooser` picks.
    init(_ configuration: Configuration, chooser: VariantChooser) throws

    /// Events (or updates, or packets) the kernel could not hand over or count since the start.
    var lostEvents: UInt64 { get }
}

/// A job whose programs send one record per event on a ring buffer (conn, inerrs).
public protocol EventJob: Job {
    associatedtype Event

    /// Hands every event, decoded, to `handler`, from `consume()` or a run loop reading `object`.
    /// A handler that throws stops that read and the error comes out of it.
    func onEvent(_ handler: @escaping (Event) throws -> Void) throws

    /// Reads the ring buffer without blocking; returns how many records there were.
    @discardableResult
    func consume() throws -> Int
}

/// Every job of netmon, in the order `netmon kernel` lists their parts.
public enum Jobs {
    public static var all: [any Job.Type] { [NicJob.self, ConnJob.self, BytesJob.self, InerrsJob.self] }

    /// Every part of every job.
    public static var parts: [VariantGroup] { all.flatMap { $0.parts } }
}
