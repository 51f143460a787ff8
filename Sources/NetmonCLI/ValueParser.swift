import NetmonJobs

/// Range-checked parsers for option values; each failure names the option and the bad value.
public enum ValueParser {
    /// The shortest interval: below it a report (a map read, a table, a write) would take most of
    /// the interval, and the output would grow as fast as the reader can take it.
    public static let minimumInterval = 0.01
    public static let maximumInterval = 86_400.0

    /// Seconds between reports: a plain decimal number ("2", "0.5", ".25") from 0.01 to 86400.
    /// Only digits and one point: no sign, exponent (1e-9), hex (0x10), inf or nan, which
    /// Double(text) would all take.
    public static func interval(_ text: String, option: String = "--interval", command: String) throws(UsageError) -> Double {
        guard let seconds = decimal(text) else {
            throw UsageError("invalid interval '\(text)' for \(option): not a decimal number of seconds (e.g. 0.5)", command: command)
        }
        guard seconds >= minimumInterval else {
            throw UsageError("invalid interval '\(text)' for \(option): at least \(minimumInterval) seconds", command: command)
        }
        guard seconds <= maximumInterval else {
            throw UsageError("invalid interval '\(text)' for \(option): at most 86400 seconds", command: command)
        }
        return seconds
    }

    /// A plain decimal number: digits with at most one point and at least one digit, nothing else.
    public static func decimal(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        guard bytes.count <= 32, bytes.contains(where: { $0 >= 0x30 && $0 <= 0x39 }),
              bytes.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") }),
              bytes.filter({ $0 == UInt8(ascii: ".") }).count <= 1 else { return nil }
        return Double(text)
    }

    /// A whole number from 1 up.
    public static func positiveInteger(_ text: String, option: String, command: String) throws(UsageError) -> Int {
        guard let number = Int(text), number >= 1 else {
            throw UsageError("invalid value '\(text)' for \(option): expected a whole number from 1 up", command: command)
        }
        return number
    }

    /// A process id (the kernel's tgid): 1 to 4194304 (PID_MAX_LIMIT).
    public static func pid(_ text: String, option: String = "--pid", command: String) throws(UsageError) -> UInt32 {
        guard let pid = UInt32(text), (1...4_194_304).contains(pid) else {
            throw UsageError("invalid PID '\(text)' for \(option): expected a process id from 1 to 4194304", command: command)
        }
        return pid
    }

    /// A comma-separated list of TCP ports, each 1–65535, at most `limit` of them, duplicates dropped.
    public static func ports(_ text: String, limit: Int, option: String = "--port", command: String) throws(UsageError) -> [UInt16] {
        var ports: [UInt16] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let port = UInt16(item), port >= 1 else {
                throw UsageError("invalid port '\(item)' in \(option): expected numbers from 1 to 65535, separated by commas", command: command)
            }
            if !ports.contains(port) { ports.append(port) }
        }
        guard ports.count <= limit else {
            throw UsageError("too many ports for \(option): at most \(limit)", command: command)
        }
        return ports
    }
}

/// `-4` and `-6`.
extension AddressFamilyFilter {
    public static let specs = [
        OptionSpec("4", "ipv4", help: "IPv4 only (IPv4-mapped IPv6 addresses count as IPv4)"),
        OptionSpec("6", "ipv6", help: "IPv6 only (IPv4-mapped IPv6 addresses excluded)"),
    ]

    public init(_ options: ParsedOptions, command: String) throws(UsageError) {
        switch (options.isSet("ipv4"), options.isSet("ipv6")) {
        case (true, true): throw UsageError("-4 and -6 cannot be used together", command: command)
        case (true, false): self = .ipv4
        case (false, true): self = .ipv6
        case (false, false): self = .both
        }
    }
}
