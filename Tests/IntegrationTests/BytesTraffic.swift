import Foundation

/// TCP traffic of known size for the bytes tests, made by two python processes (a server and a
/// client, each its own process, optionally each in its own network namespace). Each reports its
/// pid, its connection's ends and the kernel's own per-socket counters (`ss -tin`, read while the
/// socket is still open), which the tests compare netmon with.
enum BytesTraffic {
    /// What the client sends (several write sizes, write(2), then one large sendfile) and the
    /// server answers (several write sizes).
    static let clientSends = 10_000_000
    static let sendfileBytes = 4_000_000
    static let serverSends = 1_234_567

    static let server = #"""
        import json, os, socket, subprocess, sys
        bind, port_file = sys.argv[1], sys.argv[2]
        total_in, total_out = int(sys.argv[3]), int(sys.argv[4])
        family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        s = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # dual stack: IPv4 clients are ::ffff:a.b.c.d
        s.bind((bind, 0))
        s.listen(8)
        with open(port_file + ".tmp", "w") as f:
            f.write(str(s.getsockname()[1]))
        os.rename(port_file + ".tmp", port_file)
        c, _ = s.accept()
        c.recv(1000, socket.MSG_PEEK)  # peeked bytes must not count twice
        got, sizes, i = 0, [65536, 1, 4096, 100000, 13], 0
        while got < total_in:
            d = c.recv(min(sizes[i % len(sizes)], total_in - got)); i += 1
            if not d: break
            got += len(d)
        sent, pieces, i = 0, [1, 1000, 65536, 7], 0
        while sent < total_out:
            n = min(pieces[i % len(pieces)], total_out - sent); i += 1
            c.sendall(b"y" * n); sent += n
        eof = c.recv(1)  # the client's shutdown: everything it sent is in, and everything we sent is acked
        local, peer = c.getsockname(), c.getpeername()
        ss = subprocess.run(["ss", "-tinH", "state", "all", "sport = :%d and dport = :%d" % (local[1], peer[1])],
                            capture_output=True, text=True).stdout
        print(json.dumps({"pid": os.getpid(), "local": local[0], "lport": local[1], "peer": peer[0],
                          "pport": peer[1], "moved_in": got, "moved_out": sent, "eof": eof == b"", "ss": ss}))
        c.close()
        """#

    static let client = #"""
        import json, os, socket, subprocess, sys, tempfile, time
        addr, port, go_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        total_out, sendfile_bytes, total_in = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
        while go_file != "-" and not os.path.exists(go_file):
            time.sleep(0.01)
        k = socket.create_connection((addr, port))
        sent, sizes, i = 0, [1, 7, 1448, 4096, 65536, 250000], 0
        plain = total_out - sendfile_bytes
        while sent < plain // 2:  # send(2), through sendall
            n = min(sizes[i % len(sizes)], plain // 2 - sent); i += 1
            k.sendall(b"x" * n); sent += n
        while sent < plain:  # write(2)
            sent += os.write(k.fileno(), b"z" * min(300000, plain - sent))
        with tempfile.TemporaryFile() as f:
            f.write(b"f" * sendfile_bytes); f.flush()
            offset = 0
            while offset < sendfile_bytes:
                offset += os.sendfile(k.fileno(), f.fileno(), offset, sendfile_bytes - offset)
        sent += offset
        got = 0
        while got < total_in:
            d = k.recv(min(70000, total_in - got))
            if not d: break
            got += len(d)
        local, peer = k.getsockname(), k.getpeername()
        ss = subprocess.run(["ss", "-tinH", "state", "all", "sport = :%d and dport = :%d" % (local[1], peer[1])],
                            capture_output=True, text=True).stdout
        k.shutdown(socket.SHUT_WR)
        k.recv(1)  # the server's close
        k.close()
        print(json.dumps({"pid": os.getpid(), "local": local[0], "lport": local[1], "peer": peer[0],
                          "pport": peer[1], "moved_in": got, "moved_out": sent, "ss": ss}))
        """#

    /// One end as its process saw it.
    struct End {
        let pid: Int
        let address: String
        let port: Int
        let peerAddress: String
        let peerPort: Int
        let movedIn: Int
        let movedOut: Int
        /// From `ss -tin`: bytes_acked (sent and acknowledged), bytes_received.
        let bytesAcked: Int
        let bytesReceived: Int

        init(json line: String) throws {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let ss = object["ss"] as? String
            else { throw ShellError(command: "traffic", status: 0, stderr: "bad result: \(line)") }
            pid = object["pid"] as? Int ?? -1
            // An IPv4 peer of a dual-stack socket shows as ::ffff:a.b.c.d; netmon prints it dotted.
            address = (object["local"] as? String ?? "").replacingOccurrences(of: "::ffff:", with: "")
            port = object["lport"] as? Int ?? -1
            peerAddress = (object["peer"] as? String ?? "").replacingOccurrences(of: "::ffff:", with: "")
            peerPort = object["pport"] as? Int ?? -1
            movedIn = object["moved_in"] as? Int ?? -1
            movedOut = object["moved_out"] as? Int ?? -1
            bytesAcked = Self.ssCounter("bytes_acked", in: ss)
            bytesReceived = Self.ssCounter("bytes_received", in: ss)
        }

        /// A counter of ss's info line ("bytes_acked:10000001"); 0 when ss leaves it out (it
        /// does when the value is 0).
        static func ssCounter(_ name: String, in text: String) -> Int {
            for word in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
                if word.hasPrefix(name + ":") { return Int(word.dropFirst(name.count + 1)) ?? -1 }
            }
            return 0
        }
    }

    /// A python process started in the background (in `namespace` when given).
    static func start(_ script: String, _ arguments: [String], namespace: String?) throws -> (Process, Pipe) {
        let process = Process()
        let output = Pipe()
        var command = ["/usr/bin/python3", "-c", script] + arguments
        if let namespace { command = ["/usr/sbin/ip", "netns", "exec", namespace] + command }
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardOutput = output
        try process.run()
        return (process, output)
    }

    static func finish(_ started: (Process, Pipe), timeout: Double = 25) throws -> End {
        let (process, output) = started
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw ShellError(command: "traffic script", status: process.terminationStatus, stderr: text)
        }
        return try End(json: text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A started server: its port, once it listens.
    struct Server {
        let started: (Process, Pipe)
        let port: Int
    }

    static func startServer(bind: String, namespace: String?, receives: Int = clientSends,
                            sends: Int = serverSends) throws -> Server {
        let portFile = NSTemporaryDirectory() + "netmon-bytes-port-\(getpid())-\(UUID().uuidString)"
        defer { unlink(portFile) }
        let started = try start(server, [bind, portFile, String(receives), String(sends)], namespace: namespace)
        // Python starts in well under a second here, in seconds in a TCG guest (Scripts/vm).
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text) {
                return Server(started: started, port: port)
            }
            usleep(10_000)
        }
        kill(started.0.processIdentifier, SIGKILL)
        throw ShellError(command: "traffic server", status: -1, stderr: "never listened")
    }

    static func startClient(to address: String, port: Int, namespace: String?, goFile: String = "-",
                            sends: Int = clientSends, sendfile: Int = sendfileBytes,
                            receives: Int = serverSends) throws -> (Process, Pipe) {
        try start(client, [address, String(port), goFile, String(sends), String(sendfile), String(receives)],
                  namespace: namespace)
    }

    /// A whole exchange: server (bound to `bind`) and client (connecting to `connect`).
    static func exchange(bind: String, connect: String, serverNamespace: String? = nil,
                         clientNamespace: String? = nil) throws -> (client: End, server: End) {
        let server = try startServer(bind: bind, namespace: serverNamespace)
        let client = try finish(try startClient(to: connect, port: server.port, namespace: clientNamespace))
        return (client, try finish(server.started))
    }
}

/// netmon's --json rows, summed per (pid, local end, remote end) over all intervals.
struct BytesRows {
    struct Key: Hashable {
        let pid: Int
        let ip: Int
        let saddr: String
        let sport: Int
        let daddr: String
        let dport: Int
    }

    private(set) var totals: [Key: (rx: Int, tx: Int)] = [:]
    private(set) var comms: [Key: String] = [:]

    init(_ lines: [String]) throws {
        for line in lines {
            guard let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw ShellError(command: "netmon bytes --json", status: 0, stderr: "not a JSON object: \(line)")
            }
            let key = Key(pid: row["pid"] as? Int ?? -1, ip: row["ip"] as? Int ?? -1,
                          saddr: row["saddr"] as? String ?? "", sport: row["sport"] as? Int ?? -1,
                          daddr: row["daddr"] as? String ?? "", dport: row["dport"] as? Int ?? -1)
            let old = totals[key] ?? (0, 0)
            totals[key] = (old.rx + (row["rx_bytes"] as? Int ?? 0), old.tx + (row["tx_bytes"] as? Int ?? 0))
            comms[key] = row["comm"] as? String
        }
    }

    /// Every row (any pid) of the connection seen from `end`.
    func rows(of end: BytesTraffic.End) -> [Key: (rx: Int, tx: Int)] {
        totals.filter {
            $0.key.saddr == end.address && $0.key.sport == end.port && $0.key.daddr == end.peerAddress
                && $0.key.dport == end.peerPort
        }
    }

    /// The totals of `end`'s connection charged to `end`'s process; nil when there are none.
    func total(of end: BytesTraffic.End) -> (rx: Int, tx: Int)? {
        rows(of: end).first { $0.key.pid == end.pid }?.value
    }

    /// Rows touching any of `ports` (either end).
    func rows(withPorts ports: Set<Int>) -> [Key] {
        totals.keys.filter { ports.contains($0.sport) || ports.contains($0.dport) }
    }
}
