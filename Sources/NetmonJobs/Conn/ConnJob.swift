import BPFKit
import NetmonCLI

/// conn for `netmon serve`: the same programs with no filter, and each event reduced to what a
/// metric keeps of it.
public enum ConnFeed {
    public struct Established: Equatable, Sendable {
        public let accepted: Bool
        /// 4 or 6 (IPv4-mapped connections are 4).
        public let ipVersion: Int
        public let comm: String
    }

    /// The ring buffer `load`'s object sends events on.
    public static let events = "conn_events"

    /// Opens and loads conn.bpf.c for every connection of both directions (not yet attached).
    public static func load(_ context: RunContext) throws -> BPFObject {
        try ConnProgram.load(filter: ConnFilter(), context: context)
    }

    public static func decode(_ record: UnsafeRawBufferPointer) -> Established? {
        Connection(record: record).map { Established(accepted: $0.direction == .accept, ipVersion: $0.local.version, comm: $0.comm) }
    }
}
