/// The two text formats Prometheus reads: the classic text format (version 0.0.4) and OpenMetrics
/// 1.0.0. They differ in how families are named (OpenMetrics drops `_total`/`_info` from the
/// family), in the info type, and in OpenMetrics' closing `# EOF`.
enum Exposition: Equatable, Sendable {
    case text
    case openMetrics

    static let textContentType = "text/plain; version=0.0.4; charset=utf-8"
    static let openMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    var contentType: String { self == .text ? Self.textContentType : Self.openMetricsContentType }

    func render(_ families: [MetricFamily]) -> String {
        var out = ""
        for family in families {
            let familyName = self == .openMetrics ? family.name : family.sampleName
            let type: String
            switch family.kind {
            case .counter: type = "counter"
            case .gauge: type = "gauge"
            case .info: type = self == .openMetrics ? "info" : "gauge"
            }
            out += "# HELP \(familyName) \(Self.escapeHelp(family.help))\n"
            out += "# TYPE \(familyName) \(type)\n"
            for sample in family.samples {
                out += family.sampleName
                if !sample.labels.isEmpty {
                    out += "{" + sample.labels.map { "\($0.name)=\"\(Self.escapeLabel($0.value))\"" }.joined(separator: ",") + "}"
                }
                out += " " + Self.format(sample.value) + "\n"
            }
        }
        if self == .openMetrics { out += "# EOF\n" }
        return out
    }

    static func format(_ value: Value) -> String {
        switch value {
        case .integer(let number): String(number)
        case .real(let number):
            if number.isNaN { "NaN" }
            else if number.isInfinite { number > 0 ? "+Inf" : "-Inf" }
            else if number == number.rounded(), abs(number) < 1e15 { String(Int64(number)) }
            else { "\(number)" }
        }
    }

    /// HELP text: backslash and line feed escaped.
    static func escapeHelp(_ text: String) -> String { escape(text, quote: false) }

    /// Label values: backslash, double quote and line feed escaped.
    static func escapeLabel(_ text: String) -> String { escape(text, quote: true) }

    /// Byte by byte, as the text formats define it: walking Characters would miss the LF of a
    /// CR LF pair, which Swift counts as one Character.
    private static func escape(_ text: String, quote: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\"") where quote: out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
