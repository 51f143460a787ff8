import Glibc
import NetmonCLI
import NetmonJobs
import Testing

@Suite("Addresses")
struct IPAddressTests {
    func address(_ family: Int32, _ bytes: [UInt8]) -> IPAddress {
        let padded = bytes + [UInt8](repeating: 0, count: 16 - bytes.count)
        return padded.withUnsafeBytes { IPAddress(family: Int(family), bytes: $0) }
    }

    @Test("IPv4 prints dotted")
    func ipv4() {
        let a = address(AF_INET, [10, 0, 0, 1])
        #expect(a.description == "10.0.0.1" && a.version == 4)
    }

    @Test("IPv4-mapped IPv6 is reported as IPv4")
    func mapped() {
        let a = address(AF_INET6, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1])
        #expect(a == .v4(127, 0, 0, 1) && a.version == 4 && a.description == "127.0.0.1")
    }

    @Test("IPv6 prints in RFC 5952 form", arguments: [
        ([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], "2001:db8::1"),
        ([UInt8](repeating: 0, count: 15) + [1], "::1"),
        ([UInt8](repeating: 0, count: 16), "::"),
        // A single zero group is not compressed; of two equal runs the first is.
        ([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], "2001:db8:0:1:1:1:1:1"),
        ([0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], "2001:0:0:1::1"),
        ([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xab, 0xcd, 0, 0, 0, 0, 0, 0], "fe80::abcd:0:0:0"),
    ])
    func ipv6(bytes: [UInt8], text: String) {
        let a = address(AF_INET6, bytes)
        #expect(a.description == text && a.version == 6)
    }
}

@Suite("JSON lines")
struct JSONLineTests {
    @Test("keys keep their order; strings are escaped; numbers are raw")
    func line() {
        var inner = JSONLine()
        inner.add("bytes", UInt64(1500))
        var line = JSONLine()
        line.add("comm", "a\"b\\c\n\u{1}")
        line.add("rate", 2.5)
        line.add("whole", 3.0)
        line.add("total", inner)
        line.add("list", [inner, inner])
        #expect(line.text == #"{"comm":"a\"b\\c\n\u0001","rate":2.5,"whole":3.0,"total":{"bytes":1500},"list":[{"bytes":1500},{"bytes":1500}]}"#)
    }
}

@Suite("Wall time")
struct WallTimeTests {
    @Test("RFC 3339 with microseconds and the local offset")
    func rfc3339() {
        setenv("TZ", "UTC", 1)
        tzset()
        let time = WallTime(seconds: 1_795_000_000, nanoseconds: 123_456_789)
        #expect(time.rfc3339 == "2026-11-18T11:06:40.123456+00:00")
        #expect(time.clock == "11:06:40")
        #expect(time.header == "Wed Nov 18 11:06:40 2026")
    }
}
