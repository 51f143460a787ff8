import Foundation
import Testing

/// What a hostile or careless user can do with netmon's command line and environment: intervals
/// that would make it print flat out, readers that stall it, values that break its error line, a
/// binary that loads libraries from beside itself, and random command lines.
@Suite("command line hardening")
struct CommandLineHardeningTests {
    @Test("-i accepts only plain decimals from 0.01 to 86400: one line, a hint, status 2", arguments: [
        ("1e-9", "not a decimal number of seconds (e.g. 0.5)"),
        ("4.9e-324", "not a decimal number of seconds (e.g. 0.5)"),
        ("0x10", "not a decimal number of seconds (e.g. 0.5)"),
        ("inf", "not a decimal number of seconds (e.g. 0.5)"),
        ("nan", "not a decimal number of seconds (e.g. 0.5)"),
        ("-1", "not a decimal number of seconds (e.g. 0.5)"),
        ("0.001", "at least 0.01 seconds"),
        ("0", "at least 0.01 seconds"),
        ("86401", "at most 86400 seconds"),
    ])
    func intervals(value: String, problem: String) throws {
        for command in [["nic", "-n", "lo"], ["bytes"]] {
            let result = try runNetmon(command + ["-i", value])
            #expect(result.status == 2 && result.stdout.isEmpty, "\(command) \(value): \(result)")
            #expect(result.stderr == "netmon: invalid interval '\(value)' for --interval: \(problem)\n"
                    + "Try 'netmon \(command[0]) --help' for more information.\n", "\(result.stderr)")
        }
    }

    @Test("a control character in a bad value is shown escaped: the error stays one line")
    func controlCharactersEscaped() throws {
        let result = try runNetmon(["nic", "-n", "lo", "-i", "1\n2\r\u{1b}[31m"])
        #expect(result.status == 2)
        #expect(result.stderr == "netmon: invalid interval '1\\n2\\r\\x1b[31m' for --interval: not a decimal number of seconds (e.g. 0.5)\n"
                + "Try 'netmon nic --help' for more information.\n", "\(result.stderr)")
        let option = try runNetmon(["conn", "--bad\noption"])
        #expect(option.status == 2 && option.stderr.hasPrefix("netmon: unknown option '--bad\\noption'\n"), "\(option.stderr)")
    }

    @Test("NETMON_FORCE_VARIANT with a variant a job does not have: status 2 and one line, like an unknown job")
    func unknownForcedVariant() throws {
        let result = try runNetmon(["nic", "-n", "lo", "-c", "1"], environment: ["NETMON_FORCE_VARIANT": "nic=bogus"])
        #expect(result.status == 2 && result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("netmon: NETMON_FORCE_VARIANT: nic.tx has no variant 'bogus' (it has: "), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        // Also for another command's job: a misspelling is never ignored.
        let other = try runNetmon(["nic", "-n", "lo", "-c", "1"], environment: ["NETMON_FORCE_VARIANT": "bytes.recv=kprob"])
        #expect(other.status == 2 && other.stderr.hasPrefix("netmon: NETMON_FORCE_VARIANT: bytes.recv has no variant 'kprob'"),
                "\(other.stderr)")
    }

    @Test("the binary's RUNPATH has no $ORIGIN: a copy in a writable directory loads no library planted beside it")
    func noOriginInRunpath() throws {
        let dynamic = try sh("readelf -d \(netmonPath())")
        let paths = dynamic.split(separator: "\n").filter { $0.contains("(RUNPATH)") || $0.contains("(RPATH)") }
        #expect(!paths.contains { $0.contains("$ORIGIN") }, "\(netmonPath()) (build it with Scripts/build): \(paths)")
        #expect(dynamic.contains("libelf.so"), "readelf saw the binary's dynamic section")
    }

    /// Random and hostile command lines for every command, run without privilege so that a valid
    /// one ends at the privilege check: status 0 (help), 1 (the privilege line) or 2 (a usage
    /// error: one line and the hint), never a crash, a hang or a second error line.
    @Test("fuzz: random and hostile options of every command end with 0, 1 or 2 and one error line",
          .enabled(if: geteuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0, "requires root to drop privileges"))
    func fuzzOptions() throws {
        let options: [String: [String]] = [
            "nic": ["-n", "--name", "-i", "--interval", "-c", "--count", "--json", "--verbose"],
            "conn": ["-p", "--pid", "-P", "--port", "-r", "--role", "-4", "-6", "--ipv4", "--ipv6", "-c", "--count", "--json", "--verbose"],
            "bytes": ["-p", "--pid", "-i", "--interval", "-4", "-6", "-C", "--noclear", "-c", "--count", "--json", "--verbose"],
            "inerrs": ["-p", "--pid", "-4", "-6", "--all", "-c", "--count", "--json", "--verbose"],
            "serve": ["--listen", "-n", "--name", "--comm-ttl", "--verbose"],
            "kernel": ["--json", "--verbose"],
        ]
        let values = ["", "-", "--", "0", "1", "-1", "0.5", "1e-9", "0x10", "inf", "nan", "4194305", "65536", "99999999999999999999",
                      "lo", "eth0,lo", ",", "a/b", "x\ny", "\r\n", "\u{1b}[2J", "é", "\u{202e}", "%s%n", "connect", "accept",
                      "127.0.0.1:0", "[::1]:0", ":99999", "[::1", String(repeating: "A", count: 5000), "=", "-c", "--json"]
        var random = SplitMix(seed: UInt64(ProcessInfo.processInfo.environment["NETMON_FUZZ_SEED"] ?? "") ?? 16)
        for round in 0..<240 {
            let command = Array(options.keys.sorted())[random.next(options.count)]
            var arguments = [command]
            for _ in 0..<random.next(5) {
                let option = options[command]![random.next(options[command]!.count)]
                switch random.next(6) {
                case 0: arguments.append(option + "=" + values[random.next(values.count)])
                case 1: arguments.append(values[random.next(values.count)])
                case 2: arguments += [option, values[random.next(values.count)], values[random.next(values.count)]]
                default: arguments += [option, values[random.next(values.count)]]
                }
            }
            let shown = arguments.map { $0.count > 40 ? String($0.prefix(40)) + "…" : $0 }
            let run = try Self.unprivileged(arguments)
            #expect(!run.signalled, "round \(round): \(shown) died of signal \(run.status)")
            #expect([0, 1, 2].contains(run.status), "round \(round): \(shown) exited \(run.status): \(run.stderr)")
            let lines = run.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            switch run.status {
            case 2:
                #expect(lines.count == 2 && lines.first?.hasPrefix("netmon: ") == true && lines.last?.hasPrefix("Try 'netmon") == true,
                        "round \(round): \(shown): \(run.stderr)")
            case 1:
                #expect(lines.count == 1 && lines.first?.hasPrefix("netmon: ") == true, "round \(round): \(shown): \(run.stderr)")
            default:
                break
            }
            #expect(!run.stderr.contains("\u{1b}"), "round \(round): an escape reached the terminal")
        }
    }

    /// Runs netmon as nobody (no capabilities) and waits at most 10 s; a hang is killed and reported.
    static func unprivileged(_ arguments: [String]) throws -> (status: Int32, signalled: Bool, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", netmonPath()] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        let hung = process.isRunning
        if hung { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(!hung, "\(arguments.map { String($0.prefix(40)) }) hung")
        return (process.terminationStatus, process.terminationReason == .uncaughtSignal, stderr)
    }
}

/// A small seeded generator, so that a failing fuzz round can be replayed (NETMON_FUZZ_SEED).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}

/// Runs that need BPF: a stop that must end a run whatever its output reader does, and a -p for
/// a process that does not exist.
@Suite("command line hardening: runs", .serialized, .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct RunHardeningTests {
    /// netmon with its stdout on a pipe the test reads `bytesPerRead` every 50 ms (0: never).
    final class SlowReader: @unchecked Sendable {
        let process = Process()
        let pipe = Pipe()
        private let stderrPipe = Pipe()
        private var reading = true
        private let lock = NSLock()

        init(_ arguments: [String], bytesPerRead: Int) throws {
            process.executableURL = URL(fileURLWithPath: netmonPath())
            process.arguments = arguments
            process.standardOutput = pipe
            process.standardError = stderrPipe
            try process.run()
            if bytesPerRead > 0 {
                let fd = pipe.fileHandleForReading.fileDescriptor
                Thread.detachNewThread { [self] in
                    var buffer = [UInt8](repeating: 0, count: bytesPerRead)
                    while lock.withLock({ reading }) {
                        _ = read(fd, &buffer, bytesPerRead)
                        usleep(50_000)
                    }
                }
            }
        }

        func stopReading() { lock.withLock { reading = false } }
    }

    @Test("at the smallest interval, with a slow or a stalled reader, SIGTERM and SIGINT end the run promptly",
          arguments: [["nic", "-n", "lo"], ["bytes"]], [512, 0])
    func stopsWhateverTheReader(command: [String], bytesPerRead: Int) throws {
        for signal in [SIGTERM, SIGINT] {
            let run = try SlowReader(command + ["-i", "0.01"], bytesPerRead: bytesPerRead)
            defer { run.stopReading() }
            sleep(3)  // loaded, and the pipe full
            #expect(run.process.isRunning, "\(command): ended early")
            let sent = Date()
            kill(run.process.processIdentifier, signal)
            while run.process.isRunning && Date().timeIntervalSince(sent) < 10 { usleep(10_000) }
            let took = Date().timeIntervalSince(sent)
            if run.process.isRunning { kill(run.process.processIdentifier, SIGKILL) }
            run.process.waitUntilExit()
            // Within 0.1 s when the machine is idle; 2 s leaves room for a loaded CI machine.
            #expect(took < 2, "\(command) reading \(bytesPerRead) B/50 ms: signal \(signal) took \(took) s")
            #expect(run.process.terminationReason == .exit && run.process.terminationStatus == 0,
                    "\(command): \(run.process.terminationReason) \(run.process.terminationStatus)")
        }
    }

    @Test("-p with a pid no process has: a warning line on stderr, and the run goes on", .connExclusive)
    func missingPID() throws {
        var pid: Int32 = 4_194_000
        while kill(pid, 0) == 0 || errno != ESRCH { pid -= 1 }
        let netmon = try NetmonProcess.start(["conn", "-p", String(pid)])
        #expect(netmon.process.isRunning, "\(netmon.stderr)")
        #expect(netmon.stop() == 0)
        #expect(netmon.stderr.split(separator: "\n").contains("netmon: warning: no process \(pid) is running (-p \(pid) matches a process that gets this id later)"),
                "\(netmon.stderr)")
        // A pid that exists: no warning.
        let present = try NetmonProcess.start(["conn", "-p", String(getpid())])
        #expect(present.stop() == 0)
        #expect(!present.stderr.contains("warning"), "\(present.stderr)")
    }
}
