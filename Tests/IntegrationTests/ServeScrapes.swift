import Foundation
import Testing

/// A running `netmon serve` on a free port of 127.0.0.1 (in `namespace` when given), and what its
/// scrapes say.
struct ServeUnderTest {
    let netmon: NetmonProcess
    let port: Int
    let namespace: String?

    init(_ extra: [String] = [], namespace: String? = nil, environment: [String: String] = [:]) throws {
        netmon = try NetmonProcess.start(["serve", "--listen", "127.0.0.1:0"] + extra, namespace: namespace,
                                         environment: environment)
        let line = try #require(netmon.stderr.split(separator: "\n").first { $0.hasPrefix("netmon: serving /metrics on ") },
                                "no serving line: \(netmon.stderr)")
        port = try #require(Int(line.split(separator: ":").last ?? ""))
        self.namespace = namespace
    }

    func inNamespace(_ command: String) -> String {
        namespace.map { "ip netns exec \($0) \(command)" } ?? command
    }

    /// One scrape of /metrics, with `accept` as the Accept field when given.
    func scrape(accept: String? = nil) throws -> String {
        let header = accept.map { "-H 'Accept: \($0)' " } ?? ""
        return try sh(inNamespace("curl -sf --max-time 10 \(header)http://127.0.0.1:\(port)/metrics"))
    }

    func samples() throws -> Samples { Samples(try scrape()) }

    /// netmon's resident memory in KiB (ip netns exec execs netmon, so the pid is netmon's).
    var residentKiB: Int {
        let status = (try? String(contentsOfFile: "/proc/\(netmon.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
}

/// The samples of a classic-text scrape, by series (`name{labels}` as printed).
struct Samples {
    let values: [String: Double]

    init(_ text: String) {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            values[String(line[..<space])] = value
        }
        self.values = values
    }

    subscript(_ series: String) -> Double? { values[series] }

    /// The sum over every series of `name` whose labels include all of `labels` (`key="value"`).
    func sum(_ name: String, _ labels: [String] = []) -> Double {
        values.filter { series, _ in
            series.hasPrefix(name + "{") && labels.allSatisfy { series.contains($0) }
        }.values.reduce(0, +)
    }

    func series(_ name: String) -> [String] { values.keys.filter { $0.hasPrefix(name + "{") || $0 == name }.sorted() }
}

/// A program run for the length of a test in a network namespace (Prometheus, the node exporter).
final class Daemon {
    let process = Process()

    init(namespace: String, _ arguments: [String], log: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", namespace] + arguments
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// Polls `condition` every 200 ms for up to `timeout` seconds.
func eventually(timeout: Double = 20, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if try condition() { return true }
        usleep(200_000)
    } while Date() < deadline
    return false
}
