import Foundation

/// The built netmon binary: NETMON_BIN, or the `netmon` beside the test bundle in .build.
func netmonPath() -> String {
    if let path = ProcessInfo.processInfo.environment["NETMON_BIN"] { return path }
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = bundle.deletingLastPathComponent()
    while directory.path != "/" {
        let candidate = directory.appendingPathComponent("netmon").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    return ".build/debug/netmon"
}

/// A running netmon. `start` returns once it printed "Tracing" (all programs attached) or exited.
final class NetmonProcess: @unchecked Sendable {
    let process = Process()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let lock = NSLock()
    private var stdoutData = Data()
    private var stderrData = Data()
    private let drained = DispatchGroup()

    /// Runs `netmon ARGS…`, inside network namespace `namespace` when given, with `environment`
    /// added to the test's own (e.g. `KernelVariants.forcing(…)`).
    init(_ arguments: [String], namespace: String? = nil, environment: [String: String] = [:]) {
        if let namespace {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            process.arguments = ["netns", "exec", namespace, netmonPath()] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: netmonPath())
            process.arguments = arguments
        }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
    }

    /// Runs the process and reads both pipes until end of file, each on a thread of its own: once
    /// `waitForExit` returns, every byte is in `stdout`/`stderr` (a readability handler could still
    /// be appending after it was removed, and a test would read a partial output).
    func launch() throws {
        try process.run()
        for (handle, isStdout) in [(stdoutPipe.fileHandleForReading, true), (stderrPipe.fileHandleForReading, false)] {
            drained.enter()
            Thread.detachNewThread { [self] in
                while true {
                    let data = handle.availableData
                    if data.isEmpty { break }
                    lock.withLock { if isStdout { stdoutData.append(data) } else { stderrData.append(data) } }
                }
                drained.leave()
            }
        }
    }

    /// Starts it and waits (up to `timeout` seconds) for the "Tracing" line.
    @discardableResult
    static func start(_ arguments: [String], namespace: String? = nil, environment: [String: String] = [:],
                      timeout: Double = 20) throws -> NetmonProcess {
        let netmon = NetmonProcess(arguments, namespace: namespace, environment: environment)
        try netmon.launch()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if netmon.stderr.contains("Tracing") || !netmon.process.isRunning { return netmon }
            usleep(10_000)
        }
        netmon.stop()
        throw ShellError(command: "netmon \(arguments.joined(separator: " "))", status: -1,
                         stderr: "no 'Tracing' line within \(timeout) s: \(netmon.stderr)")
    }

    var stdout: String { lock.withLock { String(decoding: stdoutData, as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: stderrData, as: UTF8.self) } }
    var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }

    /// Sends SIGINT (unless it already ended) and waits for the exit; returns the exit status.
    @discardableResult
    func stop(signal: Int32 = SIGINT) -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        return waitForExit()
    }

    /// Waits for it to end by itself (e.g. --count reached), at most `timeout` seconds.
    @discardableResult
    func waitForExit(timeout: Double = 30) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        // The readers end at end of file; bounded, in case a child of netmon still holds a pipe.
        _ = drained.wait(timeout: .now() + 5)
        return process.terminationStatus
    }

    /// Waits until stdout has at least `count` lines or `timeout` passes.
    func waitForLines(_ count: Int, timeout: Double = 20) {
        let deadline = Date().addingTimeInterval(timeout)
        while stdoutLines.count < count && Date() < deadline && process.isRunning { usleep(10_000) }
    }
}

/// Runs netmon to completion (for usage errors and --count runs): status, stdout, stderr.
func runNetmon(_ arguments: [String], namespace: String? = nil, environment: [String: String] = [:],
               timeout: Double = 30) throws -> (status: Int32, stdout: String, stderr: String) {
    let netmon = NetmonProcess(arguments, namespace: namespace, environment: environment)
    try netmon.launch()
    let status = netmon.waitForExit(timeout: timeout)
    return (status, netmon.stdout, netmon.stderr)
}

/// The ids of the loaded BPF programs whose names start with one of `prefixes`.
func loadedPrograms(named prefixes: [String]) throws -> [String] {
    let listing = try sh("bpftool prog show")
    return listing.split(separator: "\n").filter { line in
        prefixes.contains { line.contains(" name \($0)") }
    }.map(String.init)
}

/// The ids of the BPF programs process `pid` holds (`prog_id:` in /proc/PID/fdinfo).
func bpfProgramIDs(heldBy pid: Int32) throws -> Set<Int> {
    let directory = "/proc/\(pid)/fdinfo"
    var ids: Set<Int> = []
    for fd in try FileManager.default.contentsOfDirectory(atPath: directory) {
        guard let info = try? String(contentsOfFile: "\(directory)/\(fd)", encoding: .utf8) else { continue }
        for line in info.split(separator: "\n") where line.hasPrefix("prog_id:") {
            if let id = Int(line.dropFirst("prog_id:".count).trimmingCharacters(in: .whitespaces)) { ids.insert(id) }
        }
    }
    return ids
}

extension NetmonProcess {
    /// The ids of the BPF programs this netmon holds while it runs. Tests check that exactly these
    /// are gone after it ends: other netmons (other suites run in parallel) may hold programs of
    /// the same names meanwhile.
    func programIDs() throws -> Set<Int> { try bpfProgramIDs(heldBy: process.processIdentifier) }
}

/// Which of the programs `ids` are still loaded after `timeout` seconds. The kernel frees a program
/// after an RCU grace period once its last fd closed, so it may be listed for a moment after its
/// netmon exited.
func programsStillLoaded(_ ids: Set<Int>, timeout: Double = 5) throws -> Set<Int> {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        let loaded = Set(try sh("bpftool prog show").split(separator: "\n").compactMap { line in
            line.first?.isNumber == true ? Int(line.prefix { $0.isNumber }) : nil
        })
        let remaining = ids.intersection(loaded)
        if remaining.isEmpty || Date() >= deadline { return remaining }
        usleep(50_000)
    }
}
