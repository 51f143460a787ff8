import Foundation
import Testing

/// nic on the running kernel, with every variant it supports forced in turn: bytes and packets
/// exactly as the device counts them, on a veth (frames with their Ethernet header, several TX
/// queues) and on a namespace's loopback (counted without a link-layer header).
@Suite("nic guest checks", .tags(.guest), .serialized,
       .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct NicGuestChecks {
    /// The variants this kernel supports for both of nic's jobs, best first.
    static func variants() throws -> [String] {
        let tx = try KernelVariants.available("nic.tx")
        let rx = try KernelVariants.available("nic.rx")
        return tx.filter(rx.contains)
    }

    /// Runs nic on `device` in `namespace` with `variant` forced while `traffic` runs, and returns
    /// what netmon summed and what the device counted over the same window. The namespace must be
    /// quiet (only the test's traffic), so the two must agree exactly: netmon attaches before the
    /// first counter read and reports a whole interval after the last.
    func measure(variant: String, device: String, namespace: String,
                 traffic: String) throws -> (netmon: NicIntegrationTests.Totals, device: DeviceCounters) {
        let netmon = try NetmonProcess.start(["nic", "-n", device, "--json", "-i", "0.5", "--verbose"],
                                             namespace: namespace,
                                             environment: KernelVariants.forcing("nic", variant))
        defer { netmon.stop() }
        #expect(netmon.stderr.contains("netmon: nic.tx: \(variant) ("), "\(netmon.stderr)")
        #expect(netmon.stderr.contains("netmon: nic.rx: \(variant) ("), "\(netmon.stderr)")
        let before = try DeviceCounters(device, namespace: namespace)
        try sh(traffic)
        let after = try DeviceCounters.settled(device, namespace: namespace)
        netmon.waitForLines(netmon.stdoutLines.count + 2)
        #expect(netmon.stop() == 0, "\(netmon.stderr)")
        return (try NicIntegrationTests.totals(ofJSON: netmon.stdout), after - before)
    }

    @Test("veth with 4 TX queues: every variant counts exactly the device's bytes and packets")
    func veth() throws {
        let variants = try Self.variants()
        #expect(!variants.isEmpty, "nic has no variant on this kernel")
        // One pair for every variant: each measurement has its own window.
        let pair = try VethPair(queues: 4)
        defer { try? pair.remove() }
        try pair.silence()
        // B answers every datagram it can (ICMP port unreachable is rate-limited per peer otherwise).
        try sh(pair.inB("sysctl -qw net.ipv4.icmp_ratelimit=0"))
        for variant in variants {
            // 8 UDP flows hashed over the TX queues; B answers with ICMP port unreachable (RX on va).
            let (counted, truth) = try measure(
                variant: variant, device: "va", namespace: pair.a,
                traffic: pair.inA(NicIntegrationTests.udpTraffic(to: pair.addressB, flows: 8, count: 25, size: 1000)))
            #expect(truth.txPackets >= 200 && truth.rxPackets > 0, "\(variant): device counted \(truth)")
            #expect(counted.txBytes == truth.txBytes && counted.txPackets == truth.txPackets,
                    "\(variant) TX: netmon \(counted.txBytes) B/\(counted.txPackets) p, device \(truth.txBytes) B/\(truth.txPackets) p")
            #expect(counted.rxBytes == truth.rxBytes && counted.rxPackets == truth.rxPackets,
                    "\(variant) RX: netmon \(counted.rxBytes) B/\(counted.rxPackets) p, device \(truth.rxBytes) B/\(truth.rxPackets) p")
            #expect(counted.txQueueBytes.filter { $0 > 0 }.count >= 2, "\(variant) per-queue TX bytes: \(counted.txQueueBytes)")
        }
    }

    @Test("loopback of a namespace: every variant counts exactly lo's bytes and packets")
    func loopback() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        for variant in try Self.variants() {
            let (counted, truth) = try measure(
                variant: variant, device: "lo", namespace: pair.a,
                traffic: pair.inA(NicIntegrationTests.udpTraffic(to: "127.0.0.1", flows: 2, count: 50, size: 700)))
            #expect(truth.txPackets >= 100, "\(variant): lo counted \(truth)")
            #expect(counted.txBytes == truth.txBytes && counted.txPackets == truth.txPackets,
                    "\(variant) TX: netmon \(counted.txBytes) B/\(counted.txPackets) p, lo \(truth.txBytes) B/\(truth.txPackets) p")
            #expect(counted.rxBytes == truth.rxBytes && counted.rxPackets == truth.rxPackets,
                    "\(variant) RX: netmon \(counted.rxBytes) B/\(counted.rxPackets) p, lo \(truth.rxBytes) B/\(truth.rxPackets) p")
        }
    }
}
