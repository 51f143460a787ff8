/// One JSON object, written as one line, with its keys in the order they were added (so lines
/// read like the table they mirror). Only what netmon prints: strings, integers, doubles, nested
/// objects and arrays of objects.
public struct JSONLine: Sendable {
    private var members: [String] = []

    public init() {}

    public mutating func add(_ key: String, _ value: String) {
        members.append("\(Self.quote(key)):\(Self.quote(value))")
    }

    public mutating func add<Number: BinaryInteger>(_ key: String, _ value: Number) {
        members.append("\(Self.quote(key)):\(value)")
    }

    public mutating func add(_ key: String, _ value: Double) {
        members.append("\(Self.quote(key)):\(Self.number(value))")
    }

    public mutating func add(_ key: String, _ value: Bool) {
        members.append("\(Self.quote(key)):\(value)")
    }

    public mutating func add(_ key: String, _ values: [String]) {
        members.append("\(Self.quote(key)):[\(values.map(Self.quote).joined(separator: ","))]")
    }

    public mutating func addNull(_ key: String) {
        members.append("\(Self.quote(key)):null")
    }

    public mutating func add(_ key: String, _ value: JSONLine) {
        members.append("\(Self.quote(key)):\(value.text)")
    }

    public mutating func add(_ key: String, _ values: [JSONLine]) {
        members.append("\(Self.quote(key)):[\(values.map(\.text).joined(separator: ","))]")
    }

    public var text: String { "{" + members.joined(separator: ",") + "}" }

    /// A finite double as JSON: integral values keep one decimal ("1.0"), others up to 6 digits.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) + ".0" }
        var text = String(format6: value)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}

extension String {
    /// `value` with 6 digits after the point, without Foundation's locale-dependent formatting.
    init(format6 value: Double) {
        let scaled = (value * 1_000_000).rounded()
        let negative = scaled < 0
        let magnitude = UInt64(abs(scaled))
        let fraction = String(magnitude % 1_000_000)
        self = (negative ? "-" : "") + String(magnitude / 1_000_000) + "."
            + String(repeating: "0", count: 6 - fraction.count) + fraction
    }
}
