import Foundation
import Testing

/// `netmon serve --web.config.file` against real clients: curl, a real Prometheus, and the node
/// exporter started with the very same file (what it answers is the reference). Each test runs
/// in network namespaces of its own, on their loopback.
@Suite("serve web config integration", .serialized, .connExclusive, .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct ServeWebConfigIntegrationTests {
    static let nodeExporterPort = 9100

    /// The node exporter in `namespace` with `--web.config.file FILE` (only its netdev collector).
    static func nodeExporter(_ namespace: String, webConfig: String, log: String) throws -> Daemon {
        let exporter = try Daemon(namespace: namespace, ["prometheus-node-exporter", "--web.listen-address=127.0.0.1:\(nodeExporterPort)",
                                                         "--web.config.file=\(webConfig)", "--collector.disable-defaults",
                                                         "--collector.netdev"], log: log)
        _ = try eventually(timeout: 10) {
            (try? sh("ip netns exec \(namespace) sh -c 'ss -ltn | grep -q :\(nodeExporterPort)'")) != nil
        }
        return exporter
    }

    @Test("TLS and basic auth: right, wrong, missing password and plain HTTP get what the node exporter gives for the same file")
    func passwordsAsNodeExporter() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let pair = try VethPair()
        defer { try? pair.remove() }
        let config = try pki.webConfig("web.yml", """
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
            http_server_config:
              headers:
                X-Frame-Options: deny
                X-Content-Type-Options: nosniff
            basic_auth_users:
              alice: \(try TestPKI.bcrypt("s3cret"))
            """)
        let serve = try ServeUnderTest(["--web.config.file", config], namespace: pair.a)
        defer { serve.netmon.stop() }
        let exporter = try Self.nodeExporter(pair.a, webConfig: config, log: pki.path("node-exporter.log"))
        defer { exporter.stop() }

        let ca = "--cacert \(pki.path("ca.crt"))"
        let cases: [(name: String, arguments: String, scheme: String, expected: Int)] = [
            ("right password", "\(ca) -u alice:s3cret", "https", 200),
            ("wrong password", "\(ca) -u alice:wrong", "https", 401),
            ("no password", ca, "https", 401),
            ("unknown user", "\(ca) -u mallory:s3cret", "https", 401),
            ("plain HTTP on the TLS port", "-u alice:s3cret", "http", 400),
        ]
        for (name, arguments, scheme, expected) in cases {
            let netmon = try CurlResult.run(arguments, "\(scheme)://127.0.0.1:\(serve.port)/metrics", namespace: pair.a)
            let node = try CurlResult.run(arguments, "\(scheme)://127.0.0.1:\(Self.nodeExporterPort)/metrics", namespace: pair.a)
            #expect(netmon.status == expected, "\(name): netmon answered \(netmon.status)")
            #expect(node.status == expected, "\(name): the node exporter answered \(node.status)")
            if expected == 401 {
                #expect(netmon.header("WWW-Authenticate") == "Basic" && node.header("WWW-Authenticate") == "Basic", "\(name)")
            }
            if scheme == "https" {
                for field in ["X-Frame-Options", "X-Content-Type-Options"] {
                    #expect(netmon.header(field) == node.header(field), "\(name): \(field) netmon \(netmon.header(field) ?? "-") vs \(node.header(field) ?? "-")")
                }
            }
        }
        // The metrics themselves come only with the password.
        let body = try sh(pair.inA("curl -sf --max-time 10 \(ca) -u alice:s3cret https://127.0.0.1:\(serve.port)/metrics"))
        #expect(body.contains("netmon_nic_queue_bytes_total{device=\"lo\""))

        // SIGHUP: a new password applies at once; a broken file then leaves it in place.
        let url = "https://127.0.0.1:\(serve.port)/metrics"
        try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "alice: ", with: "alice: \(try TestPKI.bcrypt("n3w"))\n  old: ")
            .write(toFile: config, atomically: true, encoding: .utf8)
        kill(serve.netmon.process.processIdentifier, SIGHUP)
        #expect(try eventually(timeout: 5) { try CurlResult.run("\(ca) -u alice:n3w", url, namespace: pair.a).status == 200 })
        #expect(try CurlResult.run("\(ca) -u alice:s3cret", url, namespace: pair.a).status == 401)
        try "basic_auth_users: [broken\n".write(toFile: config, atomically: true, encoding: .utf8)
        kill(serve.netmon.process.processIdentifier, SIGHUP)
        #expect(try eventually(timeout: 5) { serve.netmon.stderr.contains("kept the web config in use") })
        #expect(try CurlResult.run("\(ca) -u alice:n3w", url, namespace: pair.a).status == 200)
        #expect(serve.netmon.process.isRunning)
    }

    @Test("a real Prometheus scrapes netmon over TLS with basic auth (up == 1); with a wrong password up == 0")
    func prometheusOverTLS() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let pair = try VethPair()
        defer { try? pair.remove() }
        let config = try pki.webConfig("web.yml", """
            tls_server_config:
              cert_file: \(pki.path("server.crt"))
              key_file: \(pki.path("server.key"))
              min_version: TLS12
            basic_auth_users:
              prometheus: \(try TestPKI.bcrypt("scrape-me"))
            """)
        let serve = try ServeUnderTest(["--web.config.file", config], namespace: pair.a)
        defer { serve.netmon.stop() }
        try """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: netmon
                scheme: https
                tls_config:
                  ca_file: \(pki.path("ca.crt"))
                basic_auth:
                  username: prometheus
                  password: scrape-me
                static_configs:
                  - targets: ['127.0.0.1:\(serve.port)']
              - job_name: intruder
                scheme: https
                tls_config:
                  ca_file: \(pki.path("ca.crt"))
                basic_auth:
                  username: prometheus
                  password: guessed
                static_configs:
                  - targets: ['127.0.0.1:\(serve.port)']
            """.write(toFile: pki.path("prometheus.yml"), atomically: true, encoding: .utf8)
        let prometheus = try Daemon(namespace: pair.a, ["prometheus", "--config.file=\(pki.path("prometheus.yml"))",
                                                        "--storage.tsdb.path=\(pki.path("data"))",
                                                        "--web.listen-address=127.0.0.1:9090"], log: pki.path("prometheus.log"))
        defer { prometheus.stop() }

        func up(_ job: String) throws -> Double? {
            let text = try sh(pair.inA("curl -sf --max-time 5 http://127.0.0.1:9090/api/v1/query --data-urlencode 'query=up{job=\"\(job)\"}'"), allowFailure: true)
            guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                  let data = object["data"] as? [String: Any], let result = data["result"] as? [[String: Any]],
                  let value = result.first?["value"] as? [Any], let number = (value.last as? String).flatMap(Double.init) else { return nil }
            return number
        }
        #expect(try eventually(timeout: 30) { try up("netmon") == 1 },
                "Prometheus never scraped netmon over TLS: \((try? String(contentsOfFile: pki.path("prometheus.log"), encoding: .utf8)) ?? "")")
        #expect(try eventually(timeout: 30) { try up("intruder") == 0 }, "a wrong password must not scrape")
        // What Prometheus stored came from netmon: its own accepted connections are counted.
        let stored = try sh(pair.inA("curl -sf --max-time 5 http://127.0.0.1:9090/api/v1/query --data-urlencode 'query=netmon_build_info{job=\"netmon\"}'"))
        #expect(stored.contains("\"version\""))
    }

    @Test("client certificates: RequireAndVerifyClientCert admits the CA's client only, as the node exporter does; serve keeps serving")
    func clientCertificates() throws {
        let pki = try TestPKI()
        defer { pki.remove() }
        let pair = try VethPair()
        defer { try? pair.remove() }
        let config = try pki.webConfig("mtls.yml", """
            tls_server_config:
              cert_file: server.crt
              key_file: server.key
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: ca.crt
            """)
        let serve = try ServeUnderTest(["--web.config.file", config], namespace: pair.a)
        defer { serve.netmon.stop() }
        let exporter = try Self.nodeExporter(pair.a, webConfig: config, log: pki.path("node-exporter.log"))
        defer { exporter.stop() }

        let ca = "--cacert \(pki.path("ca.crt"))"
        let signed = "\(ca) --cert \(pki.path("client.crt")) --key \(pki.path("client.key"))"
        let rogue = "\(ca) --cert \(pki.path("rogue.crt")) --key \(pki.path("rogue.key"))"
        let cases: [(name: String, arguments: String, admitted: Bool)] = [
            ("the CA's client certificate", signed, true),
            ("no client certificate", ca, false),
            ("a self-signed client certificate", rogue, false),
            ("TLS 1.1", "\(signed) --tls-max 1.1", false),
            ("the CA's client certificate again", signed, true),
        ]
        for (name, arguments, admitted) in cases {
            let netmon = try CurlResult.run(arguments, "https://127.0.0.1:\(serve.port)/metrics", namespace: pair.a)
            let node = try CurlResult.run(arguments, "https://127.0.0.1:\(Self.nodeExporterPort)/metrics", namespace: pair.a)
            #expect((netmon.status == 200) == admitted, "\(name): netmon \(netmon.status), curl exit \(netmon.exitCode)")
            #expect((node.status == 200) == admitted, "\(name): node exporter \(node.status), curl exit \(node.exitCode)")
            if !admitted {
                #expect(netmon.status == 0 && netmon.exitCode != 0, "\(name): refused during the handshake, not with an HTTP answer")
            }
        }
        // A handshake that never ends (a client that sends nothing after connecting) does not stop the others.
        try sh(pair.inA("/usr/bin/python3 -c 'import socket, time; s = socket.create_connection((\"127.0.0.1\", \(serve.port))); time.sleep(3)' >/dev/null 2>&1 &"))
        let after = try CurlResult.run(signed, "https://127.0.0.1:\(serve.port)/metrics", namespace: pair.a)
        #expect(after.status == 200)
        #expect(serve.netmon.process.isRunning)
    }

    @Test("after attaching, serve holds no capability but what LeastPrivilege keeps, and still counts")
    func capabilitiesDropped() throws {
        let pair = try VethPair()
        defer { try? pair.remove() }
        let serve = try ServeUnderTest(namespace: pair.a)
        defer { serve.netmon.stop() }
        let pid = serve.netmon.process.processIdentifier
        // Every thread: capabilities are per thread, and the HTTP server has one of its own.
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        #expect(tasks.count >= 2)
        let kernel = try sh("uname -r")
        let parts = kernel.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        let expected: UInt64 = (parts[0], parts[1]) < (6, 5) ? 1 << 39 : 0  // CAP_BPF before 6.5
        for task in tasks {
            let status = try String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
            for set in ["CapEff", "CapPrm", "CapAmb"] {
                let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("\(set):") })
                let mask = UInt64(line.split(separator: "\t").last ?? "", radix: 16)
                #expect(mask == expected, "thread \(task) \(line)")
            }
        }
        // The counters still move: map reads need nothing more (on 6.5+, not even CAP_BPF).
        let before = try serve.samples().sum("netmon_nic_queue_packets_total", ["device=\"lo\"", "direction=\"tx\""])
        let lo = try Self.loopbackPackets(pair.a)
        for _ in 0..<3 { _ = try sh(pair.inA("curl -s --max-time 2 http://127.0.0.1:9/"), allowFailure: true) }
        let sent = try Self.loopbackPackets(pair.a) - lo
        #expect(sent >= 6)
        #expect(try eventually(timeout: 5) {
            try serve.samples().sum("netmon_nic_queue_packets_total", ["device=\"lo\"", "direction=\"tx\""]) >= before + Double(sent)
        })
    }
}

extension ServeWebConfigIntegrationTests {
    /// The loopback device's own count of packets sent, in `namespace`.
    static func loopbackPackets(_ namespace: String) throws -> Double {
        Double(try counter("/sys/class/net/lo/statistics/tx_packets", namespace: namespace))
    }
}

/// A wrong web config file is found before anything is loaded.
@Suite("serve web config errors")
struct ServeWebConfigErrorTests {
    @Test("a bad web config: one line naming the file and the key, exit 2, nothing loaded", arguments: [
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: Sometimes\n", "tls_server_config.client_auth_type"),
        ("tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n", "tls_server_config.cert_file"),
        ("tls_server_config:\n  certfile: server.crt\n", "tls_server_config.certfile"),
        ("basic_auth_users:\n  alice: plaintext\n", "basic_auth_users.alice"),
        ("http_server_config:\n  headers:\n    Server: netmon\n", "http_server_config.headers.Server"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS14\n", "tls_server_config.min_version"),
        ("basic_auth_users: [alice]\n", "basic_auth_users"),
    ])
    func badFile(text: String, key: String) throws {
        let directory = NSTemporaryDirectory() + "netmon-webconfig-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try sh("cd \(directory) && openssl req -x509 -newkey rsa:2048 -nodes -keyout server.key -out server.crt -days 1 -subj /CN=x 2>/dev/null")
        let file = "\(directory)/web.yml"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try runNetmon(["serve", "--listen", "127.0.0.1:0", "--web.config.file", file])
        #expect(result.status == 2)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.contains(file) == true && lines.first?.contains(" \(key): ") == true, "\(result.stderr)")
        #expect(!result.stderr.contains("Tracing"))
    }
}
