import Foundation
import Testing

/// Guest checks for `netmon bytes` (Scripts/vmtest runs them in each kernel's VM; they also run
/// here): for every way this kernel lets bytes be counted (the preferred variants, then each
/// fallback family forced: tp_flows, fexit, kprobe), exact totals for a known transfer — send, write and
/// sendfile out, recv in, a peek that must not count — and bytes of a socket shared by fork charged
/// to the process that moved them.
@Suite("BytesGuestChecks", .serialized, .tags(.guest),
       .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct BytesGuestChecks {
    static let groups = ["bytes.send", "bytes.sendpage", "bytes.recv"]

    /// The forcing for each family of variants this kernel supports: the variant of each group
    /// whose name is the family's ("kprobe") or a form of it ("kprobe_nblk"); a group with
    /// none keeps its preferred variant. The first entry forces nothing.
    static func forcings() throws -> [(label: String, environment: [String: String])] {
        let jobs = try KernelVariants.jobs().filter { groups.contains($0.group) }
        var result: [(String, [String: String])] = [("preferred", [:])]
        for family in ["tp_flows", "fexit", "kprobe"] {
            let choices = jobs.compactMap { job in
                job.available.first { $0 == family || $0.hasPrefix(family + "_") }.map { "\(job.group)=\($0)" }
            }
            if !choices.isEmpty {
                result.append((family, ["NETMON_FORCE_VARIANT": choices.joined(separator: ",")]))
            }
        }
        return result
    }

    @Test("every available variant: exact totals for both ends, sendfile included; a peek does not count")
    func exactTotals() throws {
        let (clientSends, sendfileBytes, serverSends) = (1_000_000, 400_000, 123_457)
        for (label, environment) in try Self.forcings() {
            // Attaching kprobes takes long in a TCG guest: a minute, not the usual 20 s.
            let netmon = try NetmonProcess.start(["bytes", "--json", "-i", "0.5"], environment: environment, timeout: 60)
            let server = try BytesTraffic.startServer(bind: "127.0.0.1", namespace: nil, receives: clientSends,
                                                      sends: serverSends)
            let client = try BytesTraffic.finish(try BytesTraffic.startClient(
                to: "127.0.0.1", port: server.port, namespace: nil, sends: clientSends, sendfile: sendfileBytes,
                receives: serverSends), timeout: 120)
            let serverEnd = try BytesTraffic.finish(server.started, timeout: 120)
            usleep(300_000)
            #expect(netmon.stop() == 0, "\(label): \(netmon.stderr)")

            let rows = try BytesRows(netmon.stdoutLines)
            // Ground truth: what the processes' calls returned, and the kernel's socket counters.
            #expect(client.movedOut == clientSends && serverEnd.movedOut == serverSends)
            #expect(client.bytesAcked - 1 == clientSends && serverEnd.bytesReceived - 1 == clientSends)
            let clientTotal = rows.total(of: client)
            let serverTotal = rows.total(of: serverEnd)
            #expect(clientTotal?.tx == clientSends && clientTotal?.rx == serverSends,
                    "\(label): client \(String(describing: clientTotal)); \(netmon.stderr.suffix(600))")
            #expect(serverTotal?.rx == clientSends && serverTotal?.tx == serverSends,
                    "\(label): server \(String(describing: serverTotal))")
            #expect(rows.rows(of: client).count == 1 && rows.rows(of: serverEnd).count == 1, "\(label): \(rows.totals)")
        }
    }

    /// A client socket used by a process and then by its forked child, and the server end in the
    /// parent: each process's bytes on its own row.
    static let sharedSocket = #"""
        import json, os, socket
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
        k = socket.create_connection(s.getsockname()); a, _ = s.accept()
        k.sendall(b"p" * 100000)
        child = os.fork()
        if child == 0:
            k.sendall(b"c" * 50000)
            os._exit(0)
        os.waitpid(child, 0)
        got = 0
        while got < 150000:
            got += len(a.recv(65536))
        a.sendall(b"r" * 7000)
        back = 0
        while back < 7000:
            back += len(k.recv(65536))
        print(json.dumps({"pid": os.getpid(), "child": child, "client": k.getsockname()[1],
                          "server": a.getsockname()[1], "got": got, "back": back}))
        k.close(); a.close()
        """#

    @Test("every available variant: a socket shared by fork charges each process its own bytes")
    func sharedSocket() throws {
        for (label, environment) in try Self.forcings() {
            let netmon = try NetmonProcess.start(["bytes", "--json", "-i", "0.5"], environment: environment, timeout: 60)
            let result = try sh("/usr/bin/python3 -c '\(Self.sharedSocket)'")
            usleep(300_000)
            #expect(netmon.stop() == 0, "\(label): \(netmon.stderr)")
            guard let facts = try JSONSerialization.jsonObject(with: Data(result.utf8)) as? [String: Int],
                  let pid = facts["pid"], let child = facts["child"], let clientPort = facts["client"],
                  let serverPort = facts["server"]
            else {
                Issue.record("\(label): bad output from the traffic script: \(result)")
                continue
            }
            #expect(facts["got"] == 150_000 && facts["back"] == 7_000)
            let rows = try BytesRows(netmon.stdoutLines)
            func total(_ pid: Int, _ port: Int) -> (rx: Int, tx: Int)? {
                rows.totals.first { $0.key.pid == pid && $0.key.sport == port }?.value
            }
            #expect(total(pid, clientPort).map { [$0.rx, $0.tx] } == [7_000, 100_000],
                    "\(label): parent's client end \(String(describing: total(pid, clientPort)))")
            #expect(total(child, clientPort).map { [$0.rx, $0.tx] } == [0, 50_000],
                    "\(label): child's client end \(String(describing: total(child, clientPort)))")
            #expect(total(pid, serverPort).map { [$0.rx, $0.tx] } == [150_000, 7_000],
                    "\(label): server end \(String(describing: total(pid, serverPort)))")
        }
    }
}
