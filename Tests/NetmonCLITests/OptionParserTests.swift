import NetmonCLI
import NetmonJobs
import Testing

@Suite("Option parsing")
struct OptionParserTests {
    let specs = [
        OptionSpec("n", "name", value: "IFACE", help: ""),
        OptionSpec("i", "interval", value: "SEC", help: ""),
        OptionSpec("4", "ipv4", help: ""),
        OptionSpec("6", "ipv6", help: ""),
        OptionSpec(nil, "json", help: ""),
    ]

    func parse(_ arguments: [String]) throws(UsageError) -> ParsedOptions {
        try ParsedOptions(parsing: arguments, specs: specs, command: "test")
    }

    @Test("short, attached, long and long= forms all set the same option")
    func forms() throws {
        for arguments in [["-n", "lo"], ["-nlo"], ["--name", "lo"], ["--name=lo"]] {
            #expect(try parse(arguments).value("name") == "lo", "\(arguments)")
        }
    }

    @Test("flags, grouped flags, and the last repeated value wins")
    func flagsAndRepeats() throws {
        let options = try parse(["-46", "--json", "-i", "1", "-i", "2"])
        #expect(options.isSet("ipv4") && options.isSet("ipv6") && options.isSet("json"))
        #expect(options.value("interval") == "2")
        #expect(!options.isSet("name"))
    }

    @Test("every malformed command line is a usage error naming the problem",
          arguments: [
              (["-x"], "unknown option '-x'"),
              (["--nope"], "unknown option '--nope'"),
              (["-n"], "option '-n' needs a value (IFACE)"),
              (["--name"], "option '--name' needs a value (IFACE)"),
              (["--json=1"], "option '--json' takes no value"),
              (["eth0"], "unexpected argument 'eth0'"),
          ])
    func errors(arguments: [String], message: String) {
        #expect(throws: UsageError(message, command: "test")) { try parse(arguments) }
    }

    @Test("-4 with -6 is a usage error")
    func familyConflict() throws {
        let options = try ParsedOptions(parsing: ["-4", "-6"], specs: AddressFamilyFilter.specs, command: "conn")
        #expect(throws: UsageError("-4 and -6 cannot be used together", command: "conn")) {
            try AddressFamilyFilter(options, command: "conn")
        }
        let v6 = try ParsedOptions(parsing: ["--ipv6"], specs: AddressFamilyFilter.specs, command: "conn")
        #expect(try AddressFamilyFilter(v6, command: "conn") == .ipv6)
    }

    @Test("the usage hint points at the command's help")
    func hint() {
        #expect(UsageError("x", command: "nic").hint == "Try 'netmon nic --help' for more information.")
        #expect(UsageError("x").hint == "Try 'netmon --help' for more information.")
    }
}

@Suite("Value parsers")
struct ValueParserTests {
    @Test("intervals: plain decimals from 0.01 to 86400, fractions allowed")
    func intervals() throws {
        #expect(try ValueParser.interval("0.25", command: "nic") == 0.25)
        #expect(try ValueParser.interval("3", command: "nic") == 3)
        #expect(try ValueParser.interval(".5", command: "nic") == 0.5)
        #expect(try ValueParser.interval("0.01", command: "nic") == 0.01)
        #expect(try ValueParser.interval("86400", command: "nic") == 86400)
        for bad in ["0", "-1", "abc", "nan", "inf", "", "1e9", "1e-9", "4.9e-324", "0x10", "0.001", "0.00999", "+1", " 1", "1 ",
                    "1..2", ".", "1,5", "١", "86400.1", "Infinity", "0x1p-3", String(repeating: "0", count: 400) + "1"] {
            #expect(throws: UsageError.self, "\(bad)") { try ValueParser.interval(bad, command: "nic") }
        }
    }

    @Test("counts and pids are range-checked")
    func integers() throws {
        #expect(try ValueParser.positiveInteger("3", option: "--count", command: "nic") == 3)
        #expect(throws: UsageError("invalid value '0' for --count: expected a whole number from 1 up", command: "nic")) {
            try ValueParser.positiveInteger("0", option: "--count", command: "nic")
        }
        #expect(try ValueParser.pid("4194304", command: "conn") == 4_194_304)
        for bad in ["0", "-5", "4194305", "12a", ""] {
            #expect(throws: UsageError.self, "\(bad)") { try ValueParser.pid(bad, command: "conn") }
        }
    }

    @Test("port lists: 1–65535, comma-separated, bounded, duplicates dropped")
    func ports() throws {
        #expect(try ValueParser.ports("80,443,80", limit: 64, command: "conn") == [80, 443])
        for bad in ["0", "65536", "80,", ",80", "80,,443", "http", "-1"] {
            #expect(throws: UsageError.self, "\(bad)") { try ValueParser.ports(bad, limit: 64, command: "conn") }
        }
        let many = (1...65).map(String.init).joined(separator: ",")
        #expect(throws: UsageError("too many ports for --port: at most 64", command: "conn")) {
            try ValueParser.ports(many, limit: 64, command: "conn")
        }
    }
}
