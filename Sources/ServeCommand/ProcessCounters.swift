/// The labels of the per-process TCP counters: direction, address family and process name.
struct ProcessKey: Hashable, Comparable, Sendable {
    let direction: String
    let family: Int
    let comm: String

    static func < (a: ProcessKey, b: ProcessKey) -> Bool {
        (a.direction, a.family, a.comm) < (b.direction, b.family, b.comm)
    }
}

extension CounterTable where Key == ProcessKey {
    /// The counters as a family with labels {direction, family, comm}, in that order.
    func family(_ name: String, help: String) -> MetricFamily {
        MetricFamily(name, .counter, help: help, samples: sorted.map { key, value in
            Sample([Label("direction", key.direction), Label("family", String(key.family)), Label("comm", key.comm)], value)
        })
    }
}
