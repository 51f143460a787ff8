import Foundation

/// Runs a command to completion and returns its standard output; throws if it fails.
@discardableResult
func sh(_ command: String, allowFailure: Bool = false) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    if process.terminationStatus != 0 && !allowFailure {
        throw ShellError(command: command, status: process.terminationStatus,
                         stderr: String(decoding: errorData, as: UTF8.self))
    }
    return String(decoding: data, as: UTF8.self)
}

struct ShellError: Error, CustomStringConvertible {
    let command: String
    let status: Int32
    let stderr: String
    var description: String { "`\(command)` exited \(status): \(stderr)" }
}

/// Reads an integer counter file such as /sys/class/net/IFACE/statistics/tx_bytes, optionally
/// inside a network namespace.
func counter(_ path: String, namespace: String? = nil) throws -> UInt64 {
    let text = try sh(namespace.map { "ip netns exec \($0) cat \(path)" } ?? "cat \(path)")
    guard let value = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
        throw ShellError(command: "cat \(path)", status: 0, stderr: "not a number: \(text)")
    }
    return value
}

/// A named counter of /proc/net/snmp or /proc/net/netstat ("Tcp", "ActiveOpens"), in a namespace.
func snmpCounter(_ group: String, _ name: String, file: String = "/proc/net/snmp", namespace: String? = nil) throws -> Int64 {
    let text = try sh(namespace.map { "ip netns exec \($0) cat \(file)" } ?? "cat \(file)")
    let lines = text.split(separator: "\n").filter { $0.hasPrefix("\(group):") }
    for pair in stride(from: 0, to: lines.count - 1, by: 2) {
        let names = lines[pair].split(separator: " ").dropFirst()
        let values = lines[pair + 1].split(separator: " ").dropFirst()
        if let index = names.firstIndex(of: Substring(name)) {
            return Int64(values[values.startIndex + (index - names.startIndex)]) ?? 0
        }
    }
    throw ShellError(command: "read \(file)", status: 0, stderr: "no counter \(group):\(name)")
}
