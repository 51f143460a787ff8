import Foundation

/// Two network namespaces joined by a veth pair, made by the test and removed by `remove()`:
/// `<name>-a` holds `va` (10.77.N.1, fd77:N::1), `<name>-b` holds `vb` (10.77.N.2, fd77:N::2).
/// Traffic between them never leaves the machine.
struct VethPair {
    let a: String
    let b: String
    let subnet: Int
    var addressA: String { "10.77.\(subnet).1" }
    var addressB: String { "10.77.\(subnet).2" }
    var address6A: String { "fd77:\(subnet)::1" }
    var address6B: String { "fd77:\(subnet)::2" }

    private static let counter = Counter()

    /// `queues` sets numtxqueues/numrxqueues of both ends.
    init(queues: Int = 1) throws {
        let id = Self.counter.next()
        let tag = "nm\(getpid() % 100_000)x\(id)"
        a = "\(tag)-a"
        b = "\(tag)-b"
        // 1...254, distinct for the first 254 pairs of a run (an octet: 10.77.256.1 is no address).
        subnet = (Int(getpid() % 200) + id) % 254 + 1
        _ = try? remove()
        try sh("""
            set -e
            ip netns add \(a); ip netns add \(b)
            ip link add va netns \(a) numtxqueues \(queues) numrxqueues \(queues) type veth peer name vb netns \(b) numtxqueues \(queues) numrxqueues \(queues)
            ip -n \(a) addr add \(addressA)/24 dev va; ip -n \(b) addr add \(addressB)/24 dev vb
            ip -n \(a) addr add \(address6A)/64 dev va nodad; ip -n \(b) addr add \(address6B)/64 dev vb nodad
            ip -n \(a) link set lo up; ip -n \(b) link set lo up
            ip -n \(a) link set va up; ip -n \(b) link set vb up
            """)
    }

    func remove() throws {
        try sh("ip netns del \(a) 2>/dev/null; ip netns del \(b) 2>/dev/null; true")
    }

    /// `command` run inside namespace `a` or `b`.
    func inA(_ command: String) -> String { "ip netns exec \(a) \(command)" }
    func inB(_ command: String) -> String { "ip netns exec \(b) \(command)" }
}

/// A thread-safe counter, for names and ports unique within a test run.
final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
