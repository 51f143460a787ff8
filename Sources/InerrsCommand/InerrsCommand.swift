import NetmonCLI

/// Placeholder until the `inerrs` subcommand is built.
public struct InerrsCommand: Subcommand {
    public static let name = "inerrs"
    public static let summary = "(not built yet)"
    public static let help = CommandHelp(usage: "netmon inerrs", description: "Not built yet.",
                                         options: CommonOptions.specs(countMeaning: "events"), examples: [])
    public let common: CommonOptions

    public init(parsing arguments: [String]) throws(UsageError) {
        let options = try ParsedOptions(parsing: arguments, specs: Self.help.options, command: Self.name)
        common = try CommonOptions(options, command: Self.name)
    }

    public func run(_ context: RunContext) throws {
        throw RuntimeFailure("'netmon inerrs' is not built yet")
    }
}
