import Foundation
import Testing

/// conn on the running kernel, with every accept variant it supports forced in turn: each
/// connection the check makes prints one connect line with the client's pid and name and one accept
/// line with the server's, with the ports the client's own sockets report, over IPv4 (accepted
/// with accept4(2)) and IPv6 (accepted with accept(2)).
@Suite("conn guest checks", .tags(.guest), .serialized, .connExclusive,
       .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct ConnGuestChecks {
    /// One server and its client, on loopback.
    struct Peers {
        let port: Int
        let ip: Int
        let address: String
        let server: ConnPeer
        let client: ConnPeer
    }

    static let connectionsPerFamily = 2

    @Test("every accept variant: connects and accepts over IPv4 and IPv6 with the right processes and ports")
    func everyAcceptVariant() throws {
        let variants = try KernelVariants.available("conn.accept")
        #expect(!variants.isEmpty, "conn.accept has no variant on this kernel")
        #expect(try !KernelVariants.available("conn.connect").isEmpty, "conn.connect has no variant on this kernel")
        for variant in variants { try check(variant: variant) }
    }

    func check(variant: String) throws {
        let netmon = try NetmonProcess.start(["conn", "--json", "--verbose"],
                                             environment: KernelVariants.forcing("conn.accept", variant))
        defer { netmon.stop() }
        #expect(netmon.stderr.contains("netmon: conn.accept: \(variant) ("), "\(netmon.stderr)")

        let go = GoFile()
        defer { go.remove() }
        var pairs: [Peers] = []
        defer { for pair in pairs { pair.client.stop(); pair.server.stop() } }
        for (ip, address, extra) in [(4, "127.0.0.1", [String]()), (6, "::1", ["plain"])] {
            let port = ConnPorts.next()
            let server = try ConnPeer("server", family: String(ip), address: address, port: port,
                                      count: Self.connectionsPerFamily, name: "nmgs\(port)", extra: extra)
            try server.waitReady()
            let client = try ConnPeer("client", family: String(ip), address: address, port: port,
                                      count: Self.connectionsPerFamily, name: "nmgc\(port)", extra: [go.path])
            pairs.append(Peers(port: port, ip: ip, address: address, server: server, client: client))
        }
        go.release()
        var clientPorts: [Int: [Int]] = [:]
        for pair in pairs {
            clientPorts[pair.port] = ConnPeer.localPorts(pair.client.finish()).map(\.port).sorted()
            #expect(pair.server.finish().last == "done", "\(variant): server on \(pair.port)")
        }
        let ports = pairs.map(\.port)
        netmon.waitForConnLines(2 * Self.connectionsPerFamily * pairs.count, timeout: 60) { line in
            ports.contains { line.involves(port: $0) }
        }
        #expect(netmon.stop() == 0, "\(netmon.stderr)")

        for pair in pairs {
            let lines = netmon.connLines { $0.involves(port: pair.port) }
            let connects = lines.filter { $0.direction == "connect" }
            let accepts = lines.filter { $0.direction == "accept" }
            let expected = clientPorts[pair.port] ?? []
            #expect(expected.count == Self.connectionsPerFamily, "\(variant) IPv\(pair.ip): client said \(expected)")
            #expect(connects.map(\.sport).sorted() == expected, "\(variant) IPv\(pair.ip) connects: \(lines)")
            #expect(accepts.map(\.dport).sorted() == expected, "\(variant) IPv\(pair.ip) accepts: \(lines)")
            for line in connects {
                #expect(line.pid == Int(pair.client.pid) && line.comm == "nmgc\(pair.port)", "\(variant): \(line)")
                #expect(line.ip == pair.ip && line.dport == pair.port, "\(variant): \(line)")
                #expect(line.saddr == pair.address && line.daddr == pair.address, "\(variant): \(line)")
            }
            for line in accepts {
                #expect(line.pid == Int(pair.server.pid) && line.comm == "nmgs\(pair.port)", "\(variant): \(line)")
                #expect(line.ip == pair.ip && line.sport == pair.port, "\(variant): \(line)")
                #expect(line.saddr == pair.address && line.daddr == pair.address, "\(variant): \(line)")
            }
        }
    }

    @Test("every accept variant: connections reset before accept() print the listener's port and the peer")
    func everyAcceptVariantAfterReset() throws {
        // A reset zeroes the socket's skc_num while it waits in the accept queue: the port must be
        // read from what the reset leaves (conn.bpf.c, endpoints_of), on every kernel and variant.
        for variant in try KernelVariants.available("conn.accept") {
            for (ip, address) in [(4, "127.0.0.1"), (6, "::1")] {
                let port = ConnPorts.next()
                let netmon = try NetmonProcess.start(["conn", "--json", "-r", "accept", "-P", String(port)],
                                                     environment: KernelVariants.forcing("conn.accept", variant))
                defer { netmon.stop() }
                let accepted = try ConnIntegrationTests.resetBeforeAccept(family: String(ip), address: address, port: port,
                                                                          rounds: 2, perRound: 5, name: "nmgr\(port)")
                #expect(accepted.count == 10 && accepted.allSatisfy { $0.local == port }, "\(variant) IPv\(ip): \(accepted)")
                netmon.waitForConnLines(accepted.count, timeout: 60) { $0.comm == "nmgr\(port)" }
                #expect(netmon.stop() == 0, "\(netmon.stderr)")
                let lines = netmon.connLines { $0.comm == "nmgr\(port)" }
                #expect(lines.count == accepted.count, "\(variant) IPv\(ip): \(lines)")
                #expect(lines.allSatisfy { $0.sport == port && $0.ip == ip && $0.saddr == address && $0.daddr == address },
                        "\(variant) IPv\(ip): \(lines)")
                #expect(lines.map(\.dport).sorted() == accepted.map(\.port).sorted(), "\(variant) IPv\(ip): \(lines)")
            }
        }
    }

    @Test("every accept variant filters in the kernel: -6 and -P keep only the matching accepts")
    func everyAcceptVariantFilters() throws {
        for variant in try KernelVariants.available("conn.accept") {
            // IPv4, IPv6, and IPv4-mapped on an AF_INET6 listener (reported as IPv4): -6 -P B,C keeps B.
            let ports = [ConnPorts.next(), ConnPorts.next(), ConnPorts.next()]
            let netmon = try NetmonProcess.start(["conn", "--json", "-r", "accept", "-6", "-P", "\(ports[1]),\(ports[2])"],
                                                 environment: KernelVariants.forcing("conn.accept", variant))
            defer { netmon.stop() }
            let go = GoFile()
            defer { go.remove() }
            var peers: [ConnPeer] = []
            defer { peers.forEach { $0.stop() } }
            for (port, family, listen, connect) in [(ports[0], "4", "127.0.0.1", "127.0.0.1"), (ports[1], "6", "::1", "::1"),
                                                    (ports[2], "6", "::", "::ffff:127.0.0.1")] {
                let server = try ConnPeer("server", family: family, address: listen, port: port, count: 2, name: "nmfs\(port)")
                try server.waitReady()
                peers.append(server)
                peers.append(try ConnPeer("client", family: family, address: connect, port: port, count: 2,
                                          name: "nmfc\(port)", extra: [go.path]))
            }
            go.release()
            for peer in peers { #expect(peer.finish().last == "done", "\(variant)") }
            netmon.waitForConnLines(2, timeout: 60) { ports.contains($0.sport) }
            usleep(300_000)
            #expect(netmon.stop() == 0, "\(netmon.stderr)")
            let lines = netmon.connLines { line in ports.contains { line.involves(port: $0) } }
            #expect(lines.count == 2 && lines.allSatisfy { $0.sport == ports[1] && $0.ip == 6 && $0.pid == Int(peers[2].pid) },
                    "\(variant): \(lines)")
        }
    }
}
