/// One metric family as exposed: its name, help, type and samples.
///
/// `name` is the family's base name: a counter's samples add `_total` and an info family's add
/// `_info` (OpenMetrics names the family without the suffix; the classic text format with it).
struct MetricFamily: Equatable, Sendable {
    enum Kind: Equatable, Sendable { case counter, gauge, info }

    let name: String
    let help: String
    let kind: Kind
    var samples: [Sample]

    init(_ name: String, _ kind: Kind, help: String, samples: [Sample] = []) {
        self.name = name
        self.kind = kind
        self.help = help
        self.samples = samples
    }

    /// The samples' metric name.
    var sampleName: String {
        switch kind {
        case .counter: name + "_total"
        case .gauge: name
        case .info: name + "_info"
        }
    }
}

/// One sample: label pairs in a fixed order, and a value.
struct Sample: Equatable, Sendable {
    let labels: [Label]
    let value: Value

    init(_ labels: [Label] = [], _ value: Value) {
        self.labels = labels
        self.value = value
    }

    init(_ labels: [Label] = [], _ value: UInt64) { self.init(labels, .integer(value)) }
    init(_ labels: [Label] = [], _ value: Double) { self.init(labels, .real(value)) }
}

struct Label: Equatable, Sendable {
    let name: String
    let value: String

    init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

enum Value: Equatable, Sendable {
    /// Counters: exact integers, printed without an exponent however large.
    case integer(UInt64)
    case real(Double)
}
