import Foundation

/// The two ends of the test connection of the inerrs tests, both run by InerrsPeer.py: a server
/// in namespace A (the destination of the bad segments, whose owner netmon must name) and an
/// injector in namespace B that connects to it and then sends crafted segments on the connection.
enum InerrsPeers {
    /// InerrsPeer.py, beside this file (found from the source path, so any working directory works).
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("InerrsPeer.py").path

    /// A process whose stdout is read line by line and whose stdin the test closes to end it.
    final class Peer: @unchecked Sendable {
        let process = Process()
        private let input = Pipe()
        private let output = Pipe()
        private let lock = NSLock()
        private var text = ""

        init(namespace: String, arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", namespace, "/usr/bin/python3", script] + arguments
            process.standardInput = input
            process.standardOutput = output
            output.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                self?.lock.withLock { self?.text += String(decoding: data, as: UTF8.self) }
            }
            try process.run()
        }

        var lines: [String] { lock.withLock { text.split(separator: "\n").map(String.init) } }

        /// The pid in the line "WORD PID CLIENTPORT" a server process printed about itself.
        func processSaying(_ word: String, clientPort: Int, timeout: Double) throws -> Int32 {
            let line = try waitForLine(described: "'\(word) … \(clientPort)'", timeout: timeout) {
                $0.hasPrefix("\(word) ") && $0.hasSuffix(" \(clientPort)")
            }
            return Int32(line.split(separator: " ")[1]) ?? -1
        }

        /// Waits for a line starting with `prefix` and returns it.
        func waitForLine(startingWith prefix: String, timeout: Double = 20) throws -> String {
            try waitForLine(described: "'\(prefix)…'", timeout: timeout) { $0.hasPrefix(prefix) }
        }

        /// Waits for a line that `matches` and returns it.
        func waitForLine(described description: String, timeout: Double = 20,
                         where matches: (String) -> Bool) throws -> String {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let line = lines.first(where: matches) { return line }
                if !process.isRunning { break }
                usleep(20_000)
            }
            throw ShellError(command: "InerrsPeer.py \(process.arguments?.suffix(5).joined(separator: " ") ?? "")",
                             status: process.isRunning ? -1 : process.terminationStatus,
                             stderr: "no line \(description) within \(timeout) s; output: \(lines)")
        }

        func send(_ line: String) {
            input.fileHandleForWriting.write(Data((line + "\n").utf8))
        }

        /// Closes its stdin (which ends it) and waits.
        func finish() {
            try? input.fileHandleForWriting.close()
            let deadline = Date().addingTimeInterval(10)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            output.fileHandleForReading.readabilityHandler = nil
        }
    }

    /// A server that has printed its pid and waits for `listen()` before it makes its socket.
    final class Server {
        let peer: Peer
        let pid: Int32
        let address: String
        let port: Int

        init(namespace: String, address: String, port: Int) throws {
            peer = try Peer(namespace: namespace, arguments: ["server", address, String(port)])
            let ready = try peer.waitForLine(startingWith: "ready ")
            pid = Int32(ready.dropFirst("ready ".count)) ?? -1
            self.address = address
            self.port = port
        }

        func listen() throws {
            peer.send("listen")
            _ = try peer.waitForLine(startingWith: "listening")
        }
    }

    /// A server that is up before netmon starts (InerrsPeer.py prefork): it listens at once, and
    /// `workers` forked processes accept (0: the listening process itself).
    final class PreforkServer {
        let peer: Peer
        let pid: Int32
        let address: String
        let port: Int

        init(namespace: String, address: String, port: Int, workers: Int, timeout: Double = 20) throws {
            peer = try Peer(namespace: namespace, arguments: ["prefork", address, String(port), String(workers)])
            let ready = try peer.waitForLine(startingWith: "ready ", timeout: timeout)
            pid = Int32(ready.dropFirst("ready ".count)) ?? -1
            self.address = address
            self.port = port
        }

        /// The process that accepted the connection from `clientPort`, as it said itself.
        func acceptor(of clientPort: Int, timeout: Double = 20) throws -> Int32 {
            try peer.processSaying("accepted", clientPort: clientPort, timeout: timeout)
        }
    }

    /// A server that hands each connection it accepts to another process and closes its own
    /// descriptor (InerrsPeer.py handover): over a unix socket to a receiver (`how` "pass"), or to
    /// a child forked after accept() ("fork").
    final class HandoverServer {
        let peer: Peer
        let pid: Int32
        /// The process that receives passed connections (0 for "fork").
        let receiver: Int32
        let address: String
        let port: Int

        init(namespace: String, address: String, port: Int, how: String, timeout: Double = 20) throws {
            peer = try Peer(namespace: namespace, arguments: ["handover", address, String(port), how])
            let ready = try peer.waitForLine(startingWith: "ready ", timeout: timeout).split(separator: " ")
            pid = Int32(ready[1]) ?? -1
            receiver = Int32(ready[2]) ?? -1
            self.address = address
            self.port = port
        }

        /// The process that holds the connection from `clientPort` alone, as it said itself.
        func holder(of clientPort: Int, timeout: Double = 20) throws -> Int32 {
            try peer.processSaying("holds", clientPort: clientPort, timeout: timeout)
        }
    }

    /// Connects from namespace B to `address`:`port` and prepares `count` crafted segments of
    /// `kind`, which `fire` sends later: the connection exists before netmon starts.
    static func connect(_ kind: String, count: Int, namespace: String, interface: String,
                        address: String, port: Int) throws -> (peer: Peer, clientPort: Int) {
        let peer = try Peer(namespace: namespace,
                            arguments: ["inject", interface, address, String(port), kind, String(count), "wait"])
        let line = try peer.waitForLine(startingWith: "{")
        let report = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        guard let clientPort = report?["client_port"] as? Int else {
            throw ShellError(command: "InerrsPeer.py inject", status: 0, stderr: "bad report: \(line)")
        }
        return (peer, clientPort)
    }

    /// As `connect` with kind csum, without scapy (InerrsPeer.py rawcsum: IPv4, fast in a guest).
    static func connectRaw(count: Int, namespace: String, address: String, port: Int,
                           timeout: Double = 20) throws -> (peer: Peer, clientPort: Int) {
        let peer = try Peer(namespace: namespace, arguments: ["rawcsum", address, String(port), String(count)])
        let line = try peer.waitForLine(startingWith: "{", timeout: timeout)
        let report = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        guard let clientPort = report?["client_port"] as? Int else {
            throw ShellError(command: "InerrsPeer.py rawcsum", status: 0, stderr: "bad report: \(line)")
        }
        return (peer, clientPort)
    }

    /// Sends the segments an injector from `connect` prepared, and waits until they are out.
    static func fire(_ injector: Peer, timeout: Double = 20) throws {
        injector.send("go")
        _ = try injector.waitForLine(described: "with \"sent\"", timeout: timeout) { $0.contains("\"sent\"") }
    }

    /// Connects from namespace B through `interface` to the server and sends `count` crafted
    /// segments of `kind`; returns the injector (still connected; `finish()` it) and its port.
    static func inject(_ kind: String, count: Int, namespace: String, interface: String,
                       server: Server) throws -> (peer: Peer, clientPort: Int) {
        try inject(kind, count: count, namespace: namespace, interface: interface, address: server.address, port: server.port)
    }

    static func inject(_ kind: String, count: Int, namespace: String, interface: String,
                       address: String, port: Int) throws -> (peer: Peer, clientPort: Int) {
        let peer = try Peer(namespace: namespace,
                            arguments: ["inject", interface, address, String(port), kind, String(count)])
        let line = try peer.waitForLine(startingWith: "{")
        let report = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        guard let port = report?["client_port"] as? Int else {
            throw ShellError(command: "InerrsPeer.py inject", status: 0, stderr: "bad report: \(line)")
        }
        return (peer, port)
    }
}

/// One line of `netmon inerrs --json`.
struct InerrsLine {
    let pid: Int
    let comm: String
    /// Whether pid/comm are the socket's holder (else the context the kernel dropped it in).
    let holder: Bool
    let ip: Int
    let saddr: String
    let sport: Int
    let daddr: String
    let dport: Int
    let reason: String
    let state: String

    init?(_ text: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let pid = object["pid"] as? Int, let comm = object["comm"] as? String,
              let holder = object["holder"] as? Bool, let ip = object["ip"] as? Int,
              let saddr = object["saddr"] as? String, let sport = object["sport"] as? Int,
              let daddr = object["daddr"] as? String, let dport = object["dport"] as? Int,
              let reason = object["reason"] as? String, let state = object["state"] as? String,
              object["time"] is String
        else { return nil }
        (self.pid, self.comm, self.holder, self.ip, self.saddr, self.sport) = (pid, comm, holder, ip, saddr, sport)
        (self.daddr, self.dport, self.reason, self.state) = (daddr, dport, reason, state)
    }

    /// The lines of a run about segments from `saddr` to `port` of `daddr` (other tests and the
    /// host's own traffic show up too: inerrs sees every namespace, and another test's namespaces
    /// may use the same addresses).
    static func parse(_ netmon: NetmonProcess, saddr: String, daddr: String, port: Int) -> [InerrsLine] {
        netmon.stdoutLines.compactMap(InerrsLine.init).filter { $0.saddr == saddr && $0.daddr == daddr && $0.dport == port }
    }
}
