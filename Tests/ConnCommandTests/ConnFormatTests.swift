import CNetmonBPF
import Glibc
import Testing
import NetmonCLI
@testable import NetmonJobs
@testable import ConnCommand

@Suite("conn output")
struct ConnFormatTests {
    /// Rendered in the machine's time zone; WallTime's own tests pin its formats, these the layout.
    static let time = WallTime(seconds: 1_795_462_801, nanoseconds: 123_456_789)

    static func event(version: UInt8, saddr: [UInt8], daddr: [UInt8], direction: Int32, comm: String = "curl") -> [UInt8] {
        var event = conn_event()
        event.timestamp_ns = 5
        event.pid = 4242
        event.tid = 4243
        withUnsafeMutableBytes(of: &event.comm) { bytes in
            for (index, byte) in comm.utf8.prefix(15).enumerated() { bytes[index] = byte }
        }
        withUnsafeMutableBytes(of: &event.saddr) { bytes in for (i, b) in saddr.enumerated() { bytes[i] = b } }
        withUnsafeMutableBytes(of: &event.daddr) { bytes in for (i, b) in daddr.enumerated() { bytes[i] = b } }
        event.sport = 54321
        event.dport = 443
        event.ip_version = version
        event.direction = UInt8(direction)
        return withUnsafeBytes(of: event) { Array($0) }
    }

    static func decode(_ record: [UInt8]) -> Connection? {
        record.withUnsafeBytes { Connection(record: $0) }
    }

    @Test("IPv4 record: dotted addresses, local end is SADDR")
    func ipv4() throws {
        let connection = try #require(Self.decode(Self.event(version: 4, saddr: [10, 0, 0, 1], daddr: [93, 184, 216, 34],
                                                             direction: CONN_DIRECTION_CONNECT)))
        #expect(connection.local.description == "10.0.0.1")
        #expect(connection.remote.description == "93.184.216.34")
        #expect(connection.local.version == 4)
        #expect(connection.direction == .connect)
        #expect(connection.pid == 4242 && connection.comm == "curl")
    }

    @Test("IPv6 record: RFC 5952")
    func ipv6() throws {
        let local: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        let remote: [UInt8] = [0xfd, 0x77, 0, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]
        let connection = try #require(Self.decode(Self.event(version: 6, saddr: local, daddr: remote,
                                                             direction: CONN_DIRECTION_ACCEPT)))
        #expect(connection.local.description == "2001:db8::1")
        #expect(connection.remote.description == "fd77:c::2")
        #expect(connection.local.version == 6)
        #expect(connection.direction == .accept)
    }

    @Test("an IPv4-mapped address is IPv4")
    func mapped() {
        let bytes: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1]
        let address = bytes.withUnsafeBytes { IPAddress(family: Int(AF_INET6), bytes: $0) }
        #expect(address.description == "127.0.0.1")
        #expect(address.version == 4)
    }

    @Test("short or unknown records are ignored")
    func badRecords() {
        #expect(Self.decode([1, 2, 3]) == nil)
        #expect(Self.decode(Self.event(version: 4, saddr: [], daddr: [], direction: 9)) == nil)
    }

    @Test("table: exact header and rows")
    func table() throws {
        let connection = try #require(Self.decode(Self.event(version: 4, saddr: [10, 0, 0, 1], daddr: [10, 0, 0, 2],
                                                             direction: CONN_DIRECTION_CONNECT)))
        let narrow = ConnFormat(family: .ipv4)
        #expect(narrow.header == "TIME         PID COMM             IP DADDR           DPORT SADDR           SPORT DIRECTION")
        #expect(narrow.row(connection, time: Self.time)
                == Self.time.clock + "    4242 curl             4  10.0.0.2          443 10.0.0.1        54321 connect")
        let wide = ConnFormat(family: .both)
        #expect(wide.header.split(separator: " ", omittingEmptySubsequences: true)
                == ["TIME", "PID", "COMM", "IP", "DADDR", "DPORT", "SADDR", "SPORT", "DIRECTION"])
        let longest = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        #expect(longest.count == wide.addressWidth)
        // Columns line up: DIRECTION starts at the same place in the header and a row.
        let row = wide.row(connection, time: Self.time)
        #expect(row.count - "connect".count == wide.header.count - "DIRECTION".count)
    }

    @Test("control characters in COMM do not break the table")
    func printableComm() {
        #expect(TaskName.sanitized(Array("a\tb\u{7f}c\r\n\u{85}é".utf8) + [0xff]) == "a?b?c???é?")
    }

    @Test("JSON: the issue's keys in order, raw numbers")
    func json() throws {
        let connection = try #require(Self.decode(Self.event(version: 4, saddr: [10, 0, 0, 1], daddr: [10, 0, 0, 2],
                                                             direction: CONN_DIRECTION_ACCEPT, comm: "my \"srv\"")))
        #expect(ConnFormat.json(connection, time: Self.time)
                == #"{"time":""# + Self.time.rfc3339 + #"","pid":4242,"comm":"my \"srv\"","ip":4,"saddr":"10.0.0.1","sport":54321,"daddr":"10.0.0.2","dport":443,"direction":"accept"}"#)
    }
}
