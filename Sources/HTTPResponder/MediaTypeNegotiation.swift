/// Picks the representation a client prefers from its Accept field (RFC 9110, section 12.5.1).
public enum MediaTypeNegotiation {
    /// Of `offered` media types ("type/subtype", in the server's order of preference), the one
    /// `accept` gives the highest weight; ties go to the earlier offer. Parameters other than `q`
    /// are ignored. With no Accept field the first offer; nil when every offer has weight 0.
    public static func preferred(_ offered: [String], accept: String?) -> String? {
        guard let accept, !accept.trimmingSpaces.isEmpty else { return offered.first }
        let ranges = accept.split(separator: ",").compactMap(MediaRange.init)
        var best: (type: String, weight: Double)?
        for type in offered {
            let weight = weightOf(type.lowercased(), in: ranges)
            if weight > 0, weight > (best?.weight ?? 0) { best = (type, weight) }
        }
        return best?.type
    }

    /// The weight of the most specific range matching `type`; 0 when none does.
    static func weightOf(_ type: String, in ranges: [MediaRange]) -> Double {
        let parts = type.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return 0 }
        var match: (specificity: Int, weight: Double)?
        for range in ranges {
            let specificity: Int
            if range.type == parts[0] && range.subtype == parts[1] {
                specificity = 2
            } else if range.type == parts[0] && range.subtype == "*" {
                specificity = 1
            } else if range.type == "*" && range.subtype == "*" {
                specificity = 0
            } else {
                continue
            }
            // Several ranges of one type (versions): the highest weight among the most specific.
            if match == nil || specificity > match!.specificity
                || (specificity == match!.specificity && range.weight > match!.weight) {
                match = (specificity, range.weight)
            }
        }
        return match?.weight ?? 0
    }
}

/// One element of an Accept field: `type/subtype;param=value;q=0.5`.
struct MediaRange {
    let type: String
    let subtype: String
    let weight: Double

    init?(_ element: Substring) {
        let parameters = element.split(separator: ";").map { $0.trimmingSpaces }
        let name = parameters.first?.lowercased().split(separator: "/", maxSplits: 1).map(String.init) ?? []
        guard name.count == 2, !name[0].isEmpty, !name[1].isEmpty else { return nil }
        type = name[0]
        subtype = name[1]
        var weight = 1.0
        for parameter in parameters.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces }
            if pair.count == 2, pair[0].lowercased() == "q" {
                guard let value = Double(pair[1]), value >= 0, value <= 1 else { return nil }
                weight = value
            }
        }
        self.weight = weight
    }
}
