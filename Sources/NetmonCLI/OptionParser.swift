/// One option a command accepts.
public struct OptionSpec: Sendable {
    public let short: Character?
    public let long: String
    /// The placeholder of the option's value ("SEC"), or nil for a flag.
    public let valueName: String?
    public let help: String

    public init(_ short: Character?, _ long: String, value valueName: String? = nil, help: String) {
        self.short = short
        self.long = long
        self.valueName = valueName
        self.help = help
    }

    /// "-i, --interval SEC"
    var synopsis: String {
        let names = [short.map { "-\($0)" }, "--\(long)"].compactMap { $0 }.joined(separator: ", ")
        return valueName.map { "\(names) \($0)" } ?? names
    }
}

/// The options found on a command line, by long name. The last of a repeated option wins.
public struct ParsedOptions: Sendable {
    private var values: [String: String] = [:]
    private var flags: Set<String> = []

    public func value(_ long: String) -> String? { values[long] }
    public func isSet(_ long: String) -> Bool { flags.contains(long) || values[long] != nil }

    /// Reads the command line: `-n lo`, `-nlo`, `--name lo`, `--name=lo`, and flags (`-4`, `--json`),
    /// which may be grouped (`-4C`). `--` is not needed: no command takes positional arguments.
    public init(parsing arguments: [String], specs: [OptionSpec], command: String) throws(UsageError) {
        func fail(_ message: String) -> UsageError { UsageError(message, command: command) }
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument.hasPrefix("--"), argument.count > 2 {
                let body = argument.dropFirst(2)
                let name = String(body.prefix { $0 != "=" })
                let inline = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
                guard let spec = specs.first(where: { $0.long == name }) else {
                    throw fail("unknown option '--\(name)'")
                }
                if spec.valueName == nil {
                    guard inline == nil else { throw fail("option '--\(name)' takes no value") }
                    flags.insert(spec.long)
                } else if let inline {
                    values[spec.long] = inline
                } else {
                    guard index < arguments.count else { throw fail("option '--\(name)' needs a value (\(spec.valueName!))") }
                    values[spec.long] = arguments[index]
                    index += 1
                }
            } else if argument.hasPrefix("-"), argument.count > 1 {
                var letters = Substring(argument.dropFirst())
                while let letter = letters.first {
                    letters = letters.dropFirst()
                    guard let spec = specs.first(where: { $0.short == letter }) else {
                        throw fail("unknown option '-\(letter)'")
                    }
                    if spec.valueName == nil {
                        flags.insert(spec.long)
                        continue
                    }
                    if !letters.isEmpty {
                        values[spec.long] = String(letters)
                    } else {
                        guard index < arguments.count else { throw fail("option '-\(letter)' needs a value (\(spec.valueName!))") }
                        values[spec.long] = arguments[index]
                        index += 1
                    }
                    break
                }
            } else {
                throw fail("unexpected argument '\(argument)'")
            }
        }
    }
}
