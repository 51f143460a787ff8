import Foundation
import Testing

/// `netmon inerrs` learns holders of sockets handed to another process while it runs: passed
/// over a unix socket, or inherited by fork(), and stops naming the process that let go. Ground
/// truth: the pids the server's processes print themselves (which one holds which client port)
/// and the segments the test crafted.
extension InerrsIntegrationTests {
    /// netmon scans every process's open files every 2 s (InerrsProgram.rescan); two periods and
    /// a margin, so that a scan has run after the hand-over even on a busy machine.
    static let afterNextRescan: useconds_t = 4_500_000

    @Test("a connection passed over a unix socket after start-up: lines name the receiver; -p matches it, not the sender")
    func passedDescriptor() throws {
        try handedOver("pass", port: 11000 + Int.random(in: 0..<500))
    }

    @Test("a connection inherited by fork() after start-up: lines name the child that holds it alone")
    func inheritedByFork() throws {
        try handedOver("fork", port: 11500 + Int.random(in: 0..<500))
    }

    private func handedOver(_ how: String, port: Int) throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        // netmon first: the server, its connections and the hand-overs all come while it runs.
        let variants = try KernelVariants.available("inerrs.owners")
        #expect(!variants.isEmpty)
        let runs = try variants.map { variant in
            (variant, try NetmonProcess.start(["inerrs", "--json"], environment: KernelVariants.forcing("inerrs.owners", variant)))
        }
        defer { for (_, netmon) in runs { netmon.stop() } }
        let server = try InerrsPeers.HandoverServer(namespace: pair.a, address: pair.addressA, port: port, how: how)
        defer { server.peer.finish() }
        let bySender = try NetmonProcess.start(["inerrs", "--json", "-p", String(server.pid)])
        defer { bySender.stop() }
        let byReceiver = how == "pass" ? try NetmonProcess.start(["inerrs", "--json", "-p", String(server.receiver)]) : nil
        defer { byReceiver?.stop() }

        // A drop before the kernel's socket lookup and one after it.
        let early = try InerrsPeers.connect("csum", count: 2, namespace: pair.b, interface: "vb",
                                            address: server.address, port: port)
        defer { early.peer.finish() }
        let late = try InerrsPeers.connect("seq", count: 2, namespace: pair.b, interface: "vb",
                                           address: server.address, port: port)
        defer { late.peer.finish() }
        let holders = [try server.holder(of: early.clientPort), try server.holder(of: late.clientPort)]
        if how == "pass" {
            #expect(holders == [server.receiver, server.receiver])
        }
        #expect(!holders.contains(server.pid) && !holders.contains(-1))
        usleep(Self.afterNextRescan)
        try InerrsPeers.fire(early.peer)
        try InerrsPeers.fire(late.peer)
        usleep(300_000)

        for (variant, netmon) in runs {
            #expect(netmon.stop() == 0)
            let lines = InerrsLine.parse(netmon, saddr: pair.addressB, daddr: pair.addressA, port: port)
            let first = lines.filter { $0.sport == early.clientPort }, second = lines.filter { $0.sport == late.clientPort }
            #expect(first.count == 2 && second.count == 2, "\(variant): \(lines)")
            #expect(first.allSatisfy { $0.pid == Int(holders[0]) && $0.comm == "python3" }, "\(variant): \(first)")
            #expect(second.allSatisfy { $0.pid == Int(holders[1]) && $0.comm == "python3" }, "\(variant): \(second)")
        }
        // The server accepted both, then let go: no longer a holder.
        #expect(bySender.stop() == 0)
        #expect(InerrsLine.parse(bySender, saddr: pair.addressB, daddr: pair.addressA, port: port).isEmpty)
        if let byReceiver {
            #expect(byReceiver.stop() == 0)
            #expect(InerrsLine.parse(byReceiver, saddr: pair.addressB, daddr: pair.addressA, port: port).map(\.sport).sorted()
                    == [early.clientPort, early.clientPort, late.clientPort, late.clientPort].sorted())
        }
    }
}
