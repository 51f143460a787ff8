import Foundation
import Testing

/// `netmon inerrs` on kernels without drop reasons (the legacy variants of inerrs.drop, forced on
/// kernels that have reasons): each kind of crafted bad segment gives one line per segment with the
/// reason the newest kernels give it, and the server's namespace counted it where the kernel counts
/// such segments. Every legacy variant this kernel supports runs at once, as its own netmon process,
/// so each crafted segment is seen by all of them.
@Suite("netmon inerrs guest checks", .serialized, .tags(.guest),
       .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct InerrsGuestChecks {
    /// What InerrsPeer.py sends and the reason Linux 6.18 gives it (InerrsIntegrationTests has why;
    /// md5: an MD5 option on a connection without keys fails tcp_v4_rcv's MD5 check; old: data
    /// before the window fails tcp_sequence; rst: a reset in the window but not at rcv_nxt).
    static let reasons = [
        "csum": "TCP_CSUM", "doff": "PKT_TOO_SMALL", "seq": "TCP_INVALID_SEQUENCE",
        "ack": "TCP_ACK_UNSENT_DATA", "syn": "TCP_INVALID_SYN", "paws": "TCP_RFC7323_PAWS",
        "md5": "TCP_MD5UNEXPECTED", "old": "TCP_OLD_SEQUENCE", "rst": "TCP_RESET",
    ]
    /// The kinds each legacy variant tells apart; it must stay silent about the others. (fexit's MD5
    /// check needs tcp_v4_inbound_md5_hash, which kernels since 5.19 call tcp_inbound_md5_hash.)
    static func reported(by variant: String) throws -> [String] {
        switch variant {
        case "fexit":
            let md5 = try sh("grep -c ' tcp_v4_inbound_md5_hash$' /proc/kallsyms || true").contains { $0 != "0" && $0.isNumber }
            return ["csum", "doff", "seq", "ack", "syn", "paws", "old", "rst"] + (md5 ? ["md5"] : [])
        default: return ["csum", "doff"]
        }
    }
    static let legacy: Set = ["fexit", "location"]
    static let segments = 2
    static let snmp = "/proc/net/snmp", netstat = "/proc/net/netstat"

    @Test("every legacy variant: K lines per kind it reports, with the newer kernels' reason; none for the rest")
    func legacyVariants() throws {
        let variants = try KernelVariants.available("inerrs.drop").filter(Self.legacy.contains)
        try #require(!variants.isEmpty, "this kernel supports no legacy inerrs variant")
        let pair = try VethPair()
        defer { try? pair.remove() }
        // Every kind over IPv4, and a checksum over IPv6 (tcp_v6_rcv's range); "csum6" sends "csum".
        let kinds = Self.reasons.keys.sorted() + ["csum6"]
        let basePort = 9000 + Int.random(in: 0..<800)
        let port = Dictionary(uniqueKeysWithValues: kinds.enumerated().map { ($1, basePort + $0) })
        let closedPort = basePort + kinds.count
        func server(_ kind: String) -> String { kind.hasSuffix("6") ? pair.address6A : pair.addressA }
        func client(_ kind: String) -> String { kind.hasSuffix("6") ? pair.address6B : pair.addressB }
        func sent(_ kind: String) -> String { kind.hasSuffix("6") ? String(kind.dropLast()) : kind }

        // Servers first, all at once: Python starts slowly in a guest. They listen once netmon runs,
        // so that netmon sees who listens.
        let servers = try kinds.map { kind in
            try InerrsPeers.Peer(namespace: pair.a, arguments: ["server", server(kind), String(port[kind]!)])
        }
        defer { for server in servers { server.finish() } }
        let serverPIDs = try servers.map { Int(try $0.waitForLine(startingWith: "ready ", timeout: 120).dropFirst(6)) ?? -1 }
        let netmons = try variants.map { variant in
            // Start-up inside a guest (BTF, probes, verifier) takes far longer than here.
            try NetmonProcess.start(["inerrs", "--json", "--all"], environment: KernelVariants.forcing("inerrs.drop", variant),
                                    timeout: 120)
        }
        defer { for netmon in netmons { netmon.stop() } }
        for server in servers { server.send("listen") }
        for server in servers { _ = try server.waitForLine(startingWith: "listening", timeout: 120) }

        let counters = [("Tcp", "InErrs", Self.snmp), ("Tcp", "InCsumErrors", Self.snmp),
                        ("TcpExt", "TCPSYNChallenge", Self.netstat), ("TcpExt", "PAWSEstab", Self.netstat),
                        ("TcpExt", "TCPMD5Unexpected", Self.netstat)]
        let before = try counters.map { try snmpCounter($0.0, $0.1, file: $0.2, namespace: pair.a) }
        // All injectors at once: each starts scapy, the slow part inside a guest.
        let injectors = try kinds.map { kind in
            try InerrsPeers.Peer(namespace: pair.b, arguments: ["inject", "vb", server(kind), String(port[kind]!),
                                                                sent(kind), String(Self.segments)])
        }
        defer { for injector in injectors { injector.finish() } }
        // SYNs to a port nobody listens on, over IPv4 and IPv6: NO_SOCKET (--all), each answered with a reset.
        for address in [pair.addressA, pair.address6A] {
            try sh(pair.inB("/usr/bin/python3 -c 'import socket\nfor _ in range(\(Self.segments)):\n s = socket.socket(socket.AF_INET6 if \":\" in \"\(address)\" else socket.AF_INET)\n try: s.connect((\"\(address)\", \(closedPort)))\n except OSError: pass'"))
        }
        // Seven scapy processes at once take minutes in a TCG guest on a loaded host.
        for injector in injectors { _ = try injector.waitForLine(startingWith: "{", timeout: 400) }
        usleep(500_000)
        let after = try counters.map { try snmpCounter($0.0, $0.1, file: $0.2, namespace: pair.a) }
        for netmon in netmons { #expect(netmon.stop() == 0, "\(netmon.stderr)") }

        // The kernel's own counts of what was sent (InerrsIntegrationTests: which kind counts where).
        let k = Int64(Self.segments)
        #expect(zip(after, before).map { $0 - $1 } == [4 * k, 2 * k, k, k, k],
                "InErrs, InCsumErrors, TCPSYNChallenge, PAWSEstab, TCPMD5Unexpected")

        for (variant, netmon) in zip(variants, netmons) {
            let reported = try Self.reported(by: variant)
            for (kind, serverPID) in zip(kinds, serverPIDs) {
                let lines = InerrsLine.parse(netmon, saddr: client(kind), daddr: server(kind), port: port[kind]!)
                #expect(lines.count == (reported.contains(sent(kind)) ? Self.segments : 0), "\(variant) \(kind): \(lines.map(\.reason))")
                for line in lines {
                    #expect(line.reason == Self.reasons[sent(kind)], "\(variant) \(kind)")
                    #expect(line.state == "ESTABLISHED", "\(variant) \(kind)")
                    #expect(line.pid == serverPID && line.comm == "python3", "\(variant) \(kind) owner: \(line.pid) \(line.comm)")
                }
            }
            let closed = InerrsLine.parse(netmon, saddr: pair.addressB, daddr: pair.addressA, port: closedPort)
                + InerrsLine.parse(netmon, saddr: pair.address6B, daddr: pair.address6A, port: closedPort)
            #expect(closed.count == (variant == "fexit" ? 2 * Self.segments : 0), "\(variant) closed port: \(closed.map(\.reason))")
            #expect(closed.allSatisfy { $0.reason == "NO_SOCKET" && $0.state == "-" }, "\(variant) closed port")
        }
    }
}
