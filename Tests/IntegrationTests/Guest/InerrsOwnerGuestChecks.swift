import Foundation
import Testing

/// netmon inerrs' socket holders on the running kernel, with every way it offers to keep them
/// (inerrs.owners: socket-local storage or the index only; inerrs.accept: each accept hook), in a
/// few seconds on the host and without scapy (slow in a TCG guest). Ground truth: the pids the
/// pre-fork server's processes print for the connections they accepted, and the guest's own
/// InCsumErrors.
@Suite("netmon inerrs holders guest checks", .serialized, .tags(.guest),
       .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct InerrsOwnerGuestChecks {
    /// Generous: Python and netmon start slowly in a guest without KVM.
    static let patience = 300.0

    @Test("pre-fork server started before netmon: bad segments name the accepting worker, with every variant")
    func preforkHolders() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let port = 11000 + Int.random(in: 0..<500)
        let server = try InerrsPeers.PreforkServer(namespace: pair.a, address: pair.addressA, port: port, workers: 2,
                                                   timeout: Self.patience)
        defer { server.peer.finish() }
        let before = try InerrsPeers.connectRaw(count: 2, namespace: pair.b, address: server.address, port: port,
                                                timeout: Self.patience)
        defer { before.peer.finish() }
        let firstWorker = try server.acceptor(of: before.clientPort, timeout: Self.patience)

        var environments: [(String, [String: String])] = []
        for group in ["inerrs.owners", "inerrs.accept"] {
            for variant in try KernelVariants.available(group) {
                environments.append(("\(group)=\(variant)", KernelVariants.forcing(group, variant)))
            }
        }
        #expect(environments.count >= 2)
        let runs = try environments.map { name, environment in
            (name, try NetmonProcess.start(["inerrs", "--json"], environment: environment, timeout: Self.patience))
        }
        defer { for (_, netmon) in runs { netmon.stop() } }
        let after = try InerrsPeers.connectRaw(count: 2, namespace: pair.b, address: server.address, port: port,
                                               timeout: Self.patience)
        defer { after.peer.finish() }
        let secondWorker = try server.acceptor(of: after.clientPort, timeout: Self.patience)
        #expect(Set([server.pid, firstWorker, secondWorker]).count == 3)
        let csumBefore = try snmpCounter("Tcp", "InCsumErrors", namespace: pair.a)
        try InerrsPeers.fire(before.peer, timeout: Self.patience)
        try InerrsPeers.fire(after.peer, timeout: Self.patience)
        usleep(500_000)
        #expect(try snmpCounter("Tcp", "InCsumErrors", namespace: pair.a) - csumBefore == 4)

        for (name, netmon) in runs {
            #expect(netmon.stop() == 0, "\(name)")
            let lines = InerrsLine.parse(netmon, saddr: pair.addressB, daddr: pair.addressA, port: port)
            let first = lines.filter { $0.sport == before.clientPort }, second = lines.filter { $0.sport == after.clientPort }
            #expect(first.count == 2 && second.count == 2, "\(name): \(lines)")
            #expect(first.allSatisfy { $0.pid == Int(firstWorker) && $0.reason == "TCP_CSUM" }, "\(name): \(first)")
            #expect(second.allSatisfy { $0.pid == Int(secondWorker) && $0.reason == "TCP_CSUM" }, "\(name): \(second)")
        }
    }
}
