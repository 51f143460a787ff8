import Testing
import NetmonCLI
@testable import NetmonJobs
@testable import ConnCommand

@Suite("conn options")
struct ConnOptionsTests {
    @Test("no options: everything")
    func defaults() throws {
        let command = try ConnCommand(parsing: [])
        #expect(command.filter == ConnFilter())
        #expect(command.filter.tracesConnects && command.filter.tracesAccepts)
    }

    @Test("every filter, short and long forms")
    func filters() throws {
        let short = try ConnCommand(parsing: ["-p", "42", "-P", "80,443,8080", "-r", "accept", "-6", "-c", "3", "--json"])
        #expect(short.filter.pid == 42)
        #expect(short.filter.localPorts == [80, 443, 8080])
        #expect(short.filter.direction == .accept)
        #expect(short.filter.family == .ipv6)
        #expect(short.common.count == 3 && short.common.json)
        #expect(!short.filter.tracesConnects && short.filter.tracesAccepts)

        let long = try ConnCommand(parsing: ["--pid=42", "--port", "22", "--role", "connect", "--ipv4"])
        #expect(long.filter == ConnFilter(pid: 42, localPorts: [22], direction: .connect, family: .ipv4))
    }

    @Test("bad port lists are usage errors", arguments: ["0", "65536", "80,", ",80", "80,,81", "http", "-1", "1.5", ""])
    func badPorts(list: String) {
        #expect(throws: UsageError.self) { try ConnCommand(parsing: ["-P", list]) }
    }

    @Test("64 ports are fine, 65 are not")
    func portLimit() throws {
        let ports64 = (1...64).map(String.init).joined(separator: ",")
        #expect(try ConnCommand(parsing: ["-P", ports64]).filter.localPorts.count == 64)
        let ports65 = (1...65).map(String.init).joined(separator: ",")
        #expect(throws: UsageError("too many ports for --port: at most 64", command: "conn")) {
            try ConnCommand(parsing: ["-P", ports65])
        }
    }

    @Test("other usage errors", arguments: [["-4", "-6"], ["-r", "listen"], ["-p", "0"], ["-p", "abc"], ["-c", "0"], ["extra"], ["-x"]])
    func usageErrors(arguments: [String]) {
        #expect(throws: UsageError.self) { try ConnCommand(parsing: arguments) }
    }

    @Test("the kernel configuration carries every filter")
    func config() {
        let config = ConnFilter(pid: 7, localPorts: [80, 443], direction: .accept, family: .ipv4).config
        #expect(config.tgid == 7)
        #expect(config.ip_version == 4)
        #expect(config.port_count == 2)
        #expect(config.local_ports.0 == 80 && config.local_ports.1 == 443 && config.local_ports.2 == 0)
        #expect(ConnFilter(family: .ipv6).config.ip_version == 6)
        #expect(ConnFilter().config.ip_version == 0 && ConnFilter().config.tgid == 0)
    }

    @Test("help documents every option and the semantics")
    func help() {
        let text = ConnCommand.help.text
        for option in ["-p, --pid PID", "-P, --port PORT[,PORT...]", "-r, --role connect|accept", "-4, --ipv4", "-6, --ipv6",
                       "-c, --count N", "--json"] {
            #expect(text.contains(option), "missing \(option)")
        }
        #expect(text.contains("LOCAL port (SPORT)"))
        #expect(text.contains("::ffff:a.b.c.d"))
        #expect(text.contains("-4 includes it and -6 excludes it"))
    }
}
