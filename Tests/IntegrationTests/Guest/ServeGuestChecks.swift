import Foundation
import Testing

/// serve on the running kernel: with every nic variant it supports forced in turn, the scraped
/// queue counters move as the device's own; each of conn, bytes and inerrs is either served or
/// named on stderr as left out; and connections of a uniquely named process are counted exactly.
@Suite("serve guest checks", .tags(.guest), .serialized, .connExclusive,
       .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct ServeGuestChecks {
    @Test("every nic variant: the scraped counters of a veth move as its device counters")
    func everyNicVariant() throws {
        let variants = try KernelVariants.available("nic.tx")
        #expect(!variants.isEmpty, "nic.tx has no variant on this kernel")
        for variant in variants {
            let pair = try VethPair()
            defer { try? pair.remove() }
            let serve = try ServeUnderTest(["--verbose"], namespace: pair.a,
                                           environment: ["NETMON_FORCE_VARIANT": "nic.tx=\(variant),nic.rx=\(variant)"])
            defer { serve.netmon.stop() }
            #expect(serve.netmon.stderr.contains("netmon: nic.tx: \(variant) ("), "\(serve.netmon.stderr)")
            let labels = ["device=\"va\"", "direction=\"tx\""]
            let before = try serve.samples().sum("netmon_nic_queue_bytes_total", labels)
            let device = try counter("/sys/class/net/va/statistics/tx_bytes", namespace: pair.a)
            try sh(pair.inA(ServeIntegrationTests.udp(to: pair.addressB, count: 20, size: 500)))
            let truth = Double(try counter("/sys/class/net/va/statistics/tx_bytes", namespace: pair.a) - device)
            let delta = try serve.samples().sum("netmon_nic_queue_bytes_total", labels) - before
            #expect(truth >= 20 * 8 * 500 && ServeIntegrationTests.close(delta, truth), "\(variant): \(delta) vs \(truth)")
        }
    }

    @Test("each socket job is served or named as left out; a named process's connections are counted")
    func socketJobs() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        defer { serve.netmon.stop() }
        let text = try serve.scrape()
        for (job, family) in [("conn", "netmon_tcp_connections_total"), ("bytes", "netmon_tcp_bytes_total"),
                              ("inerrs", "netmon_tcp_rejected_segments_total")] {
            let served = text.contains("# TYPE \(family) counter")
            let leftOut = serve.netmon.stderr.contains("netmon: serving without the \(job) metrics: ")
            #expect(served != leftOut, "\(job): served \(served), left out \(leftOut): \(serve.netmon.stderr)")
        }
        guard text.contains("# TYPE netmon_tcp_connections_total counter") else { return }
        let tag = "nmg\(getpid() % 10000)"
        let port = 7000 + Int.random(in: 0..<1000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/bin/sh")
        server.arguments = ["-c", pair.inA(ServeSocketsIntegrationTests.server(comm: "\(tag)s", family: "AF_INET",
                                                                               address: pair.addressA, port: port, count: 2, reply: 10))]
        server.standardOutput = Pipe()
        try server.run()
        _ = try sh(pair.inB(ServeSocketsIntegrationTests.client(comm: "\(tag)c", family: "AF_INET", address: pair.addressA,
                                                                port: port, count: 2, send: 100)))
        server.waitUntilExit()
        let samples = try serve.samples()
        #expect(samples["netmon_tcp_connections_total{direction=\"connect\",family=\"4\",comm=\"\(tag)c\"}"] == Double(2))
        #expect(samples["netmon_tcp_connections_total{direction=\"accept\",family=\"4\",comm=\"\(tag)s\"}"] == Double(2))
    }

    @Test("rejected segments are counted in the kernel: the counter moves exactly as the namespace's TcpInCsumErrors")
    func rejectedSegmentsCounted() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        defer { serve.netmon.stop() }
        let series = "netmon_tcp_rejected_segments_total{reason=\"TCP_CSUM\",family=\"4\"}"
        guard let before = try serve.samples()[series] else {
            #expect(serve.netmon.stderr.contains("netmon: serving without the inerrs metrics: "), "\(serve.netmon.stderr)")
            return
        }
        let server = try InerrsPeers.Server(namespace: pair.a, address: pair.addressA, port: 6000 + Int.random(in: 0..<1000))
        defer { server.peer.finish() }
        try server.listen()
        let segments = 20
        let truthBefore = try snmpCounter("Tcp", "InCsumErrors", namespace: pair.a)
        let (injector, _) = try InerrsPeers.connectRaw(count: segments, namespace: pair.b, address: pair.addressA,
                                                       port: server.port, timeout: 60)
        defer { injector.finish() }
        try InerrsPeers.fire(injector, timeout: 60)
        let truth = try snmpCounter("Tcp", "InCsumErrors", namespace: pair.a) - truthBefore
        #expect(truth == Int64(segments))
        // serve counts every namespace: in a guest nothing else rejects segments, on a shared host
        // other tests may add theirs during the second the injector takes.
        let alone = ProcessInfo.processInfo.environment["NETMON_GUEST_KERNEL"] != nil
        var delta = 0.0
        _ = try eventually(timeout: 10) {
            delta = try (serve.samples()[series] ?? before) - before
            return delta == Double(truth)
        }
        #expect(alone ? delta == Double(truth) : delta >= Double(truth),
                "netmon_tcp_rejected_segments_total moved by \(delta), TcpInCsumErrors by \(truth)")
    }
}
