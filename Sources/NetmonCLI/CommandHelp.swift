/// A command's --help text: usage, what it does, its options, and examples.
public struct CommandHelp: Sendable {
    public let usage: String
    public let description: String
    public let options: [OptionSpec]
    public let examples: [(command: String, meaning: String)]
    /// Paragraphs after the options: semantics, columns, caveats.
    public let notes: String

    public init(usage: String, description: String, options: [OptionSpec],
                examples: [(command: String, meaning: String)], notes: String = "") {
        self.usage = usage
        self.description = description
        self.options = options
        self.examples = examples
        self.notes = notes
    }

    public var text: String {
        var lines = ["Usage: \(usage)", "", description, "", "Options:"]
        let width = (options.map { $0.synopsis.count }.max() ?? 0) + 2
        for option in options {
            lines.append("  " + option.synopsis.leftAligned(width) + option.help)
        }
        if !notes.isEmpty {
            lines += ["", notes]
        }
        if !examples.isEmpty {
            lines += ["", "Examples:"]
            let commandWidth = (examples.map { $0.command.count }.max() ?? 0) + 2
            for example in examples {
                lines.append("  " + example.command.leftAligned(commandWidth) + example.meaning)
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
