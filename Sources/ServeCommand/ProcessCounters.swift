/// The labels of the per-process TCP counters: direction, address family and process name.
struct ProcessKey: Hashable, Comparable, Sendable {
    let direction: String
    let family: Int
    let comm: String

    static func < (a: ProcessKey, b: ProcessKey) -> Bool {
        (a.direction, a.family, a.comm) < (b.direction, b.family, b.comm)
    }
}
