/// The options every subcommand takes.
public struct CommonOptions: Sendable {
    /// Stop after this many intervals (interval commands) or events (event commands).
    public var count: Int?
    /// One JSON object per line on stdout instead of tables.
    public var json: Bool
    /// On failure, also print what libbpf said (the verifier log); echo libbpf's messages.
    public var verbose: Bool

    public static func specs(countMeaning: String) -> [OptionSpec] {
        [
            OptionSpec("c", "count", value: "N", help: "stop after N \(countMeaning)"),
            OptionSpec(nil, "json", help: "print one JSON object per line (raw numbers, RFC 3339 times)"),
            OptionSpec(nil, "verbose", help: "show libbpf's messages, and the verifier's log on a load failure"),
            OptionSpec("h", "help", help: "show this help"),
        ]
    }

    public init(count: Int? = nil, json: Bool = false, verbose: Bool = false) {
        self.count = count
        self.json = json
        self.verbose = verbose
    }

    public init(_ options: ParsedOptions, command: String) throws(UsageError) {
        count = try options.value("count").map { value throws(UsageError) in
            try ValueParser.positiveInteger(value, option: "--count", command: command)
        }
        json = options.isSet("json")
        verbose = options.isSet("verbose")
    }
}
