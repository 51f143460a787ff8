import Foundation

/// TCP servers and clients for the conn tests: small python processes with names of their own
/// (prctl PR_SET_NAME), so every line netmon prints can be traced to the process that made it.
/// Each prints `pid N` first; a client then waits for its go file, so netmon can be started with
/// `-p CLIENT_PID` before the client connects.
enum ConnScript {
    static let source = #"""
import ctypes, os, socket, sys, threading, time
libc = ctypes.CDLL(None, use_errno=True)
def set_name(name):  # the calling thread's comm
    libc.prctl(15, name.encode(), 0, 0, 0)

mode, fam, addr, port, count, name = sys.argv[1:7]
port, count = int(port), int(count)
extra = sys.argv[7:]
family = socket.AF_INET6 if fam == "6" else socket.AF_INET
set_name(name)
print("pid", os.getpid(), flush=True)

if mode == "server":
    # extra: "plain" to accept with accept(2) instead of accept4(2); "backlog0" to listen with a
    # backlog of 0 and never accept (the second SYN is dropped: the accept queue is full);
    # "hold" to keep the accepted connections open until stdin closes.
    kept = []
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(0 if "backlog0" in extra else 4096)
    print("ready", flush=True)
    if "backlog0" in extra:
        sys.stdin.read()
        sys.exit(0)
    for _ in range(count):
        if "plain" in extra:
            fd = libc.accept(s.fileno(), None, None)
            if fd < 0:
                sys.exit("accept failed: %d" % ctypes.get_errno())
            os.close(fd)
        else:
            c, _ = s.accept()
            if "hold" in extra:
                kept.append(c)
            else:
                c.close()
    print("done", flush=True)
    if "hold" in extra:
        sys.stdin.read()
else:
    # extra: GO_FILE [THREADS] ["fail"] ["hold"]: connect `count` times per thread once GO_FILE
    # exists; with "fail", each connect is expected to fail (2 s timeout); with "hold", the
    # connections stay open until stdin closes.
    go = extra[0]
    threads = int(extra[1]) if len(extra) > 1 and extra[1].isdigit() else 1
    fail = "fail" in extra
    hold = "hold" in extra
    held = []
    while not os.path.exists(go):
        time.sleep(0.005)
    lock = threading.Lock()
    def work(index):
        if index > 0:
            set_name("thread%d" % index)  # a thread's own comm must not show: COMM is the process's
        lines = []
        for _ in range(count):
            c = socket.socket(family, socket.SOCK_STREAM)
            if fail:
                c.settimeout(2)
                try:
                    c.connect((addr, port))
                    lines.append("unexpected-success")
                except OSError as e:
                    lines.append("failed %s" % type(e).__name__)
            else:
                c.connect((addr, port))
                lines.append("local %d %d" % (c.getsockname()[1], threading.get_native_id()))
            if hold:
                held.append(c)
            else:
                c.close()
        with lock:
            print("\n".join(lines), flush=True)
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers: w.start()
    for w in workers: w.join()
    print("done", flush=True)
    if hold:
        sys.stdin.read()
"""#

    static let path: String = {
        let path = NSTemporaryDirectory() + "netmon-conn-peer-\(getpid()).py"
        _ = FileManager.default.createFile(atPath: path, contents: Data(source.utf8))
        return path
    }()
}

/// One running python peer; its stdout is read line by line.
final class ConnPeer {
    let process = Process()
    private let output = Pipe()
    private let input = Pipe()
    private var buffer = Data()
    private(set) var pid: Int32 = 0

    /// Starts `mode fam addr port count name extra…` (in `namespace` when given) and reads its pid.
    init(_ mode: String, family: String, address: String, port: Int, count: Int, name: String,
         extra: [String] = [], namespace: String? = nil) throws {
        let arguments = [ConnScript.path, mode, family, address, String(port), String(count), name] + extra
        if let namespace {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", namespace, "/usr/bin/python3"] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = arguments
        }
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        let first = readLine()
        guard let line = first, line.hasPrefix("pid "), let pid = Int32(line.dropFirst(4)) else {
            throw ShellError(command: "python peer \(arguments)", status: -1, stderr: "no pid line: \(first ?? "EOF")")
        }
        self.pid = pid
    }

    /// The next line of output, or nil at the end.
    func readLine() -> String? {
        let handle = output.fileHandleForReading
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer = Data(buffer[(newline + 1)...])
                return line
            }
            let chunk = handle.availableData
            if chunk.isEmpty {
                guard !buffer.isEmpty else { return nil }
                defer { buffer = Data() }
                return String(decoding: buffer, as: UTF8.self)
            }
            buffer.append(chunk)
        }
    }

    /// Waits for a server's "ready" line.
    func waitReady() throws {
        guard readLine() == "ready" else {
            throw ShellError(command: "python server", status: -1, stderr: "server did not start")
        }
    }

    /// Reads up to the "done" line (a client that holds its connections open prints it and waits).
    func readUntilDone() -> [String] {
        var lines: [String] = []
        while let line = readLine(), line != "done" { lines.append(line) }
        return lines
    }

    /// Reads everything up to the end and waits for the exit; returns the lines read.
    func finish() -> [String] {
        var lines: [String] = []
        while let line = readLine() { lines.append(line) }
        process.waitUntilExit()
        return lines
    }

    /// Ends a server that waits on stdin (backlog0), or any peer that is still running.
    func stop() {
        try? input.fileHandleForWriting.close()
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
    }

    /// A client's connections: local port → thread id.
    static func localPorts(_ lines: [String]) -> [(port: Int, tid: Int)] {
        lines.compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "local", let port = Int(parts[1]), let tid = Int(parts[2]) else { return nil }
            return (port, tid)
        }
    }
}

/// One line of `netmon conn --json`.
struct ConnLine: Equatable, CustomStringConvertible {
    let pid: Int
    let comm: String
    let ip: Int
    let saddr: String
    let sport: Int
    let daddr: String
    let dport: Int
    let direction: String

    init?(json line: String) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let time = object["time"] as? String, time.contains("T"),
              let pid = object["pid"] as? Int, let comm = object["comm"] as? String, let ip = object["ip"] as? Int,
              let saddr = object["saddr"] as? String, let sport = object["sport"] as? Int,
              let daddr = object["daddr"] as? String, let dport = object["dport"] as? Int,
              let direction = object["direction"] as? String
        else { return nil }
        (self.pid, self.comm, self.ip, self.saddr, self.sport) = (pid, comm, ip, saddr, sport)
        (self.daddr, self.dport, self.direction) = (daddr, dport, direction)
    }

    var description: String { "\(direction) pid=\(pid) \(comm) ip\(ip) \(saddr):\(sport) -> \(daddr):\(dport)" }

    /// Whether the line belongs to a connection with server port `port` (either end).
    func involves(port: Int) -> Bool { sport == port || dport == port }
}

/// Ports for the conn tests' listeners: a block per test process, outside the ephemeral range.
enum ConnPorts {
    private static let counter = Counter()
    static func next() -> Int { 20_000 + Int(getpid() % 400) * 25 + counter.next() % 25 }
}

/// A go file for clients: they connect once it exists.
struct GoFile {
    let path = NSTemporaryDirectory() + "netmon-conn-go-\(getpid())-\(UUID().uuidString)"
    func release() { _ = FileManager.default.createFile(atPath: path, contents: nil) }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

extension NetmonProcess {
    /// The JSON lines printed so far that match `predicate`.
    func connLines(where predicate: (ConnLine) -> Bool) -> [ConnLine] {
        stdoutLines.compactMap(ConnLine.init(json:)).filter(predicate)
    }

    /// Waits until `count` matching lines were printed (or `timeout` passes).
    func waitForConnLines(_ count: Int, timeout: Double = 15, where predicate: (ConnLine) -> Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        while connLines(where: predicate).count < count && Date() < deadline && process.isRunning { usleep(20_000) }
    }

    /// What netmon reported lost (`netmon: lost N events`), in total.
    var lostEvents: Int {
        stderr.split(separator: "\n").compactMap { line -> Int? in
            guard line.hasPrefix("netmon: lost ") else { return nil }
            return Int(line.dropFirst("netmon: lost ".count).prefix { $0.isNumber })
        }.reduce(0, +)
    }
}

/// Makes the client side of a veth pair receive in a kernel thread: native XDP (a program that
/// passes everything) puts veth into NAPI mode, and threaded NAPI runs that NAPI in
/// "napi/va-…". The client's SYN-ACK, and so its move to ESTABLISHED, is then processed there,
/// not in the client's own context, as on a real NIC: attribution by "current" at that moment
/// would name the kernel thread.
enum ConnReceiveThread {
    static let object: String = {
        let source = NSTemporaryDirectory() + "netmon-conn-xdp-pass-\(getpid()).c"
        let object = NSTemporaryDirectory() + "netmon-conn-xdp-pass-\(getpid()).o"
        let text = """
            __attribute__((section("xdp"), used)) int pass(void *ctx) { return 2; /* XDP_PASS */ }
            char _license[] __attribute__((section("license"), used)) = "GPL";
            """
        _ = FileManager.default.createFile(atPath: source, contents: Data(text.utf8))
        _ = try? sh("$(command -v clang-14 || command -v clang) -O2 -target bpf -c \(source) -o \(object)")
        return object
    }()

    static func enable(on pair: VethPair) throws {
        try sh("ip -n \(pair.a) link set dev va xdpdrv obj \(object) sec xdp")
        try sh(pair.inA("sh -c 'echo 1 > /sys/class/net/va/threaded'"))
    }
}
