import BPFKit
import Foundation
import Testing
@testable import InerrsCommand
import NetmonCLI
@testable import NetmonJobs

@Suite("inerrs: drop reasons")
struct DropReasonsTests {
    // A slice of Linux 6.18's enum skb_drop_reason, with its real numbers.
    static let enumerators: [(name: String, value: Int64)] = [
        ("SKB_NOT_DROPPED_YET", 0), ("SKB_CONSUMED", 1), ("SKB_DROP_REASON_NOT_SPECIFIED", 2),
        ("SKB_DROP_REASON_NO_SOCKET", 3), ("SKB_DROP_REASON_SOCKET_RCVBUFF", 6), ("SKB_DROP_REASON_PKT_TOO_SMALL", 9),
        ("SKB_DROP_REASON_TCP_CSUM", 10), ("SKB_DROP_REASON_UDP_CSUM", 11), ("SKB_DROP_REASON_IP_CSUM", 14),
        ("SKB_DROP_REASON_TCP_MD5FAILURE", 24), ("SKB_DROP_REASON_TCP_OLD_DATA", 33),
        ("SKB_DROP_REASON_TCP_RFC7323_PAWS", 36), ("SKB_DROP_REASON_TCP_INVALID_SEQUENCE", 42),
        ("SKB_DROP_REASON_TCP_INVALID_SYN", 46), ("SKB_DROP_REASON_TCP_CLOSE", 47),
        ("SKB_DROP_REASON_TCP_ACK_UNSENT_DATA", 51), ("SKB_DROP_REASON_QDISC_DROP", 64),
        ("SKB_DROP_REASON_TCP_MINTTL", 97), ("SKB_DROP_REASON_MAX", 128), ("SKB_DROP_REASON_SUBSYS_MASK", 4294901760),
    ]

    @Test("names lose their prefix; unknown numbers print as numbers")
    func names() {
        let reasons = DropReasons(enumerators: Self.enumerators)
        #expect(reasons.name(of: 10) == "TCP_CSUM")
        #expect(reasons.name(of: 46) == "TCP_INVALID_SYN")
        #expect(reasons.name(of: 200) == "200")
        #expect(reasons.name(of: 128) == "128")  // MAX is no reason
        #expect(reasons.name(of: 0) == "0")      // nor is SKB_NOT_DROPPED_YET
    }

    @Test("the default list holds bad segments, --all adds resource and lifecycle drops")
    func lists() {
        let reasons = DropReasons(enumerators: Self.enumerators)
        #expect(reasons.selected(all: false) == [9, 10, 24, 36, 42, 46, 51, 97])
        #expect(reasons.selected(all: true) == [3, 6, 9, 10, 24, 33, 36, 42, 46, 47, 51, 97])
    }

    @Test("reasons a future kernel adds fall in a list by their names")
    func futureReasons() {
        #expect(DropReasons.category(of: "TCP_AOFUTURE") == .badSegment)
        #expect(DropReasons.category(of: "TCP_INVALID_FUTURE") == .badSegment)
        #expect(DropReasons.category(of: "TCP_FUTURE_CSUM") == .badSegment)
        #expect(DropReasons.category(of: "TCP_FUTURE_QUEUE") == .resource)
        #expect(DropReasons.category(of: "SOCKET_FUTURE") == .resource)
        #expect(DropReasons.category(of: "UDP_CSUM") == .other)
        #expect(DropReasons.category(of: "NOT_SPECIFIED") == .other)
    }

    @Test("--help lists every reason in the list it belongs to")
    func helpMatchesClassification() throws {
        let notes = InerrsCommand.help.notes
        let defaultStart = try #require(notes.range(of: "Reported by default")).upperBound
        let defaultEnd = try #require(notes.range(of: "and any TCP_ reason")).lowerBound
        let allStart = try #require(notes.range(of: "Added by --all")).upperBound
        let allEnd = try #require(notes.range(of: "and any other TCP_")).lowerBound
        // The reason names: the upper-case words of the two indented lists.
        func names(_ text: Substring) -> [String] {
            text.split(separator: "\n").filter { $0.hasPrefix("  ") }
                .flatMap { $0.split(separator: " ").map(String.init) }
                .filter { $0.allSatisfy { $0.isUppercase || $0.isNumber || $0 == "_" } }
        }
        let listedDefault = names(notes[defaultStart..<defaultEnd])
        let listedAll = names(notes[allStart..<allEnd])
        // The enum as BPFPrograms/vmlinux.h (Linux 6.18) has it: the help lists exactly its reasons.
        let reasons = DropReasons(enumerators: try Self.vmlinuxEnumerators())
        let bad = Set(reasons.selected(all: false).map(reasons.name(of:)))
        let resource = Set(reasons.selected(all: true).map(reasons.name(of:))).subtracting(bad)
        #expect(Set(listedDefault) == bad)
        #expect(Set(listedAll) == resource)
    }

    static func vmlinuxEnumerators() throws -> [(name: String, value: Int64)] {
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { root.deleteLastPathComponent() }
        let header = try String(contentsOf: root.appendingPathComponent("BPFPrograms/vmlinux.h"), encoding: .utf8)
        let start = try #require(header.range(of: "enum skb_drop_reason {"))
        let body = header[start.upperBound...].prefix { $0 != "}" }
        return body.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces.union(.init(charactersIn: ","))) }
            guard parts.count == 2, let value = Int64(parts[1]) else { return nil }
            return (parts[0], value)
        }
    }
}

@Suite("inerrs: options")
struct InerrsOptionsTests {
    @Test("options parse")
    func parse() throws {
        let command = try InerrsCommand(parsing: ["-p", "42", "-4", "--all", "-c", "3", "--json"])
        #expect(command.ownerPID == 42)
        #expect(command.family == .ipv4)
        #expect(command.all)
        #expect(command.common.count == 3 && command.common.json)
        let plain = try InerrsCommand(parsing: [])
        #expect(plain.ownerPID == nil && plain.family == .both && !plain.all)
    }

    @Test("bad command lines are usage errors")
    func usageErrors() {
        #expect(throws: UsageError.self) { try InerrsCommand(parsing: ["-4", "-6"]) }
        #expect(throws: UsageError.self) { try InerrsCommand(parsing: ["-p", "abc"]) }
        #expect(throws: UsageError.self) { try InerrsCommand(parsing: ["-p", "0"]) }
        #expect(throws: UsageError.self) { try InerrsCommand(parsing: ["--every"]) }
    }

    @Test("the configuration carries the reasons as a bitmap")
    func config() {
        let config = InerrsConfig.make(reasons: [3, 64, 130, 255, 300], ownerPID: 7, family: .ipv6,
                                       storage: .init(owners: .socketStorage, drop: .reason))
        #expect(config.reasons.0 == 1 << 3)
        #expect(config.reasons.1 == 1)
        #expect(config.reasons.2 == 1 << 2)
        #expect(config.reasons.3 == 1 << 63)
        #expect(config.owner_pid == 7 && config.ip_version == 6)
        #expect(config.sk_storage == 1 && config.drop_reads_storage == 1)
    }

    @Test("socket-local storage is read by drop programs only where both sides allow it")
    func storageFlags() {
        #expect(InerrsConfig.Storage(owners: .socketStorage, drop: .rxSocket) == .init(owners: .socketStorage, drop: .reason))
        let hash = InerrsConfig.Storage(owners: .index, drop: .rxSocket)
        #expect(!hash.socketLocal && !hash.dropReadsIt)
        // A drop variant that is no BTF-typed program (an fexit program) cannot call the helper.
        let fexit = InerrsConfig.Storage(owners: .socketStorage, drop: .fexit)
        #expect(fexit.socketLocal && !fexit.dropReadsIt)
    }

    @Test("every program the variant groups name is in the embedded object")
    func programsExist() throws {
        let spec = try EmbeddedObject.open("inerrs")
        for program in InerrsProgram.parts.flatMap(\.programs) {
            #expect(throws: Never.self) { try spec.setAutoload(true, program: program) }
        }
    }

    @Test("the socket-storage owners variant is offered exactly when the real holders iterator, storage on, loads",
          .enabled(if: geteuid() == 0, "requires root"))
    func storageProbeTellsTheTruth() throws {
        let spec = try EmbeddedObject.open("inerrs")
        for program in spec.programNames {
            try spec.setAutoload(program == InerrsProgram.holdersIterator, program: program)
        }
        try spec.setConstant("inerrs_config", to: InerrsConfig.make(reasons: [], ownerPID: nil, family: .both,
                                                                    storage: .init(owners: .socketStorage, drop: .reason)))
        let loads: Bool
        do {
            _ = try spec.load()
            loads = true
        } catch {
            loads = false
        }
        let probe = try KernelProbe(objects: EmbeddedObject.open)
        #expect(probe.has(InerrsProgram.storageOfFileSocket) == loads)
    }

    @Test("the kfree_skb variant follows the tracepoint's arguments in the kernel's BTF",
          .enabled(if: access(KernelBTF.path, R_OK) == 0, "requires kernel BTF"))
    func dropVariantByArguments() throws {
        let probe = try KernelProbe()
        let found = probe.btf.tracepointArguments("kfree_skb")
        let arguments = try #require(found)
        #expect(arguments.first == "struct sk_buff *")
        let rxSocket = arguments.count >= 4 && arguments[3] == "struct sock *"
        let spec = try EmbeddedObject.open("inerrs")
        let chosen = try spec.choose(InerrsProgram.drop.group, probe: probe)
        #expect(chosen.name == (rxSocket ? "rx_sk" : "reason"))
    }
}

@Suite("inerrs: output")
struct InerrsFormatTests {
    static let time = WallTime(seconds: 1_700_000_000, nanoseconds: 123_456_000)

    static func segment(_ source: IPAddress, _ destination: IPAddress, state: String = "ESTABLISHED") -> RejectedSegment {
        RejectedSegment(time: time, pid: 4242, comm: "python3", ownerKnown: true, source: source, sourcePort: 51000,
                        destination: destination, destinationPort: 443, reason: "TCP_CSUM", state: state)
    }

    @Test("table rows line up under the header")
    func table() {
        let row = InerrsFormat.table(Self.segment(.v4(10, 0, 0, 2), .v4(10, 0, 0, 1)))
        #expect(row.hasSuffix("4242    python3          4  10.0.0.2:51000        > 10.0.0.1:443          TCP_CSUM                 ESTABLISHED"))
        #expect(InerrsFormat.header.hasPrefix("TIME     PID     COMM             IP SADDR:SPORT"))
        #expect(row.count - "ESTABLISHED".count == InerrsFormat.header.count - "STATE".count)
    }

    @Test("IPv6 endpoints are bracketed; IPv4-mapped addresses are IPv4")
    func addresses() {
        var v6 = [UInt8](repeating: 0, count: 16)
        v6[0] = 0xfd; v6[1] = 0x77; v6[15] = 2
        #expect(InerrsFormat.endpoint(.v6(v6), 80) == "[fd77::2]:80")
        let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]
        let address = mapped.withUnsafeBytes { IPAddress(family: 10, bytes: $0) }
        let segment = Self.segment(address, address, state: "-")
        #expect(segment.ipVersion == 4)
        #expect(InerrsFormat.table(segment).contains(" 4  192.0.2.1:51000 "))
    }

    @Test("JSON has the documented keys, in order")
    func json() {
        let line = InerrsFormat.json(Self.segment(.v4(10, 0, 0, 2), .v4(10, 0, 0, 1)))
        let expectedTail = #""pid":4242,"comm":"python3","holder":true,"ip":4,"saddr":"10.0.0.2","sport":51000,"daddr":"10.0.0.1","dport":443,"reason":"TCP_CSUM","state":"ESTABLISHED"}"#
        #expect(line.hasPrefix(#"{"time":""#))
        #expect(line.hasSuffix(expectedTail))
        #expect(line.contains(Self.time.rfc3339))
    }

    @Test("TCP states by name, request sockets as SYN_RECV")
    func states() {
        #expect(TCPState.name(1) == "ESTABLISHED")
        #expect(TCPState.name(10) == "LISTEN")
        #expect(TCPState.name(12) == "SYN_RECV")
        #expect(TCPState.name(0) == "-")
        #expect(TCPState.name(99) == "99")
    }
}
