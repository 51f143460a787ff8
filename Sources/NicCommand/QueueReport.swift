import NetmonJobs

/// Cumulative counters of one direction's queues, as read from the kernel.
typealias QueueCounters = NicJob.QueueCounters

/// One queue's (or the total's) traffic over an interval.
struct QueueRate: Equatable {
    let bytes: UInt64
    let packets: UInt64
    let seconds: Double

    /// Bytes per packet; 0 when idle.
    var averageSize: Double { packets == 0 ? 0 : Double(bytes) / Double(packets) }
    var bytesPerSecond: Double { seconds > 0 ? Double(bytes) / seconds : 0 }
    var packetsPerSecond: Double { seconds > 0 ? Double(packets) / seconds : 0 }
}

/// One direction's report for an interval: a rate per queue and their total.
struct DirectionReport: Equatable {
    let queues: [QueueRate]
    let total: QueueRate

    /// The traffic between two readings. A counter that went backwards (it cannot, but a reading
    /// could race a map resize) counts as 0 rather than wrapping.
    init(from previous: QueueCounters, to current: QueueCounters, seconds: Double) {
        func delta(_ now: [UInt64], _ before: [UInt64], _ index: Int) -> UInt64 {
            let old = index < before.count ? before[index] : 0
            return now[index] >= old ? now[index] - old : 0
        }
        queues = current.bytes.indices.map { index in
            QueueRate(bytes: delta(current.bytes, previous.bytes, index),
                      packets: delta(current.packets, previous.packets, index),
                      seconds: seconds)
        }
        total = QueueRate(bytes: queues.reduce(0) { $0 + $1.bytes },
                          packets: queues.reduce(0) { $0 + $1.packets },
                          seconds: seconds)
    }
}

/// Everything printed for one interval.
struct NicReport: Equatable {
    let interface: String
    let seconds: Double
    let tx: DirectionReport
    let rx: DirectionReport
}
