import CNetmonBPF
import NetmonCLI
@testable import NetmonJobs
import Testing

@testable import BytesCommand

/// How one interval's counts from the two places the kernel keeps them (socket storage, read by the
/// iterator; the flow maps) become one row per process and connection.
@Suite("bytes flow merging")
struct FlowMergeTests {
    private func record(tgid: UInt32, sport: UInt16, rx: UInt64, tx: UInt64) -> bytes_flow_record {
        var record = bytes_flow_record()
        record.key.tgid = tgid
        record.key.family = 2
        record.key.sport = sport
        record.key.dport = 443
        record.key.saddr.0 = 10
        record.key.saddr.3 = 1
        record.key.daddr.0 = 10
        record.key.daddr.3 = 2
        record.counters.rx_bytes = rx
        record.counters.tx_bytes = tx
        record.counters.comm.0 = 0x63  // "c"
        return record
    }

    @Test("the iterator's output is whole records, one after another")
    func records() {
        let written = [record(tgid: 7, sport: 1000, rx: 5, tx: 6), record(tgid: 8, sport: 2000, rx: 0, tx: 9)]
        let bytes = written.withUnsafeBytes { [UInt8]($0) }
        let read = FlowMaps.records(bytes)
        #expect(read.map(\.key.tgid) == [7, 8])
        #expect(read.map(\.key.sport) == [1000, 2000])
        #expect(read.map(\.counters.tx_bytes) == [6, 9])
        #expect(FlowMaps.records([]).isEmpty)
        #expect(FlowMaps.records(Array(bytes.prefix(bytes.count - 1))).count == 1)  // never a partial record
    }

    @Test("a flow counted with its socket and in a flow map is one row with the sum")
    func merge() {
        var rows = FlowRows()
        let fromSocket = FlowMaps.row(record(tgid: 7, sport: 1000, rx: 5, tx: 6).key,
                                      record(tgid: 7, sport: 1000, rx: 5, tx: 6).counters)
        let fromMap = FlowMaps.row(record(tgid: 7, sport: 1000, rx: 100, tx: 0).key,
                                   record(tgid: 7, sport: 1000, rx: 100, tx: 0).counters)
        let otherProcess = FlowMaps.row(record(tgid: 9, sport: 1000, rx: 1, tx: 1).key,
                                        record(tgid: 9, sport: 1000, rx: 1, tx: 1).counters)
        rows.add(fromSocket)
        rows.add(otherProcess)
        rows.add(fromMap)
        #expect(rows.all.count == 2)
        #expect(rows.all.first { $0.pid == 7 }.map { [$0.rxBytes, $0.txBytes] } == [105, 6])
        #expect(rows.all.first { $0.pid == 9 }.map { [$0.rxBytes, $0.txBytes] } == [1, 1])
        #expect(rows.all.first?.comm == "c" && rows.all.first?.source == .v4(10, 0, 0, 1))
    }
}
