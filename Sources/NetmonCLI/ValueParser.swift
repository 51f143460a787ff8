import NetmonJobs

/// Range-checked parsers for option values; each failure names the option and the bad value.
public enum ValueParser {
    /// Seconds between reports: a finite number greater than 0, fractions allowed ("0.5").
    public static func interval(_ text: String, option: String = "--interval", command: String) throws(UsageError) -> Double {
        guard let seconds = Double(text), seconds.isFinite else {
            throw UsageError("invalid interval '\(text)' for \(option): not a number of seconds", command: command)
        }
        guard seconds > 0 else {
            throw UsageError("invalid interval '\(text)' for \(option): must be greater than 0", command: command)
        }
        guard seconds <= 86_400 else {
            throw UsageError("invalid interval '\(text)' for \(option): at most 86400 seconds", command: command)
        }
        return seconds
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
