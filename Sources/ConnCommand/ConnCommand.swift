import BPFKit
import CNetmonBPF
import NetmonCLI
import NetmonJobs

/// `netmon conn`: every TCP connection the moment it is established, with the process that
/// connected or accepted it.
public struct ConnCommand: Subcommand {
    public static let name = "conn"
    public static let summary = "every TCP connection as it is established, with its process"

    static let options: [OptionSpec] = [
        OptionSpec("p", "pid", value: "PID", help: "only connections of process PID (every thread of it); warns if none runs now"),
        OptionSpec("P", "port", value: "PORT[,PORT...]",
                   help: "only connections whose LOCAL port (SPORT) is one of these (up to \(ConnFilter.maxPorts))"),
        OptionSpec("r", "role", value: "connect|accept", help: "only connections opened here (connect) or accepted here (accept)"),
    ] + AddressFamilyFilter.specs + CommonOptions.specs(countMeaning: "connections")

    public static let help = CommandHelp(
        usage: "netmon conn [-p PID] [-P PORT[,PORT...]] [-r connect|accept] [-4|-6] [-c N] [--json]",
        description: """
            One line per TCP connection that reached ESTABLISHED, printed as it happens, with the
            process that opened it: connect lines when an active open completes its handshake,
            accept lines when a process takes a connection with accept() or accept4(). Sockets of
            every network namespace on the host are watched.
            """,
        options: options,
        examples: [
            ("netmon conn", "every new connection, both directions"),
            ("netmon conn -r accept -P 80,443", "connections accepted on local port 80 or 443"),
            ("netmon conn -p 1234 -r connect", "outgoing connections of process 1234"),
            ("netmon conn -6 --json -c 10", "the next ten IPv6 connections, as JSON"),
        ],
        notes: """
            connect: printed when the connection is ESTABLISHED (never when the SYN is sent); a
            refused or timed-out connect prints nothing. PID and COMM are the process that called
            connect(), even though the handshake completes later in softirq context.
            accept: printed when accept()/accept4() returns the connection, with the process that
            called it. Connections a listener never accepts are not printed, and neither are
            accepts made through io_uring (no syscall exit to observe) or by 32-bit programs.

            PID is the process id (the kernel's tgid), the same for all of its threads; COMM is
            the process's name (that of its main thread). SADDR/SPORT are always the local end and
            DADDR/DPORT the remote end, in both directions; -P matches the local port (SPORT),
            which for accepted connections is the listening port. IP is 4 or 6; a connection of an
            AF_INET6 socket with an IPv4 peer (IPv4-mapped address ::ffff:a.b.c.d) is reported as
            IPv4 with dotted addresses, so -4 includes it and -6 excludes it. IPv6 addresses print
            in RFC 5952 form. TIME is local time.

            All filters run in the kernel: filtered-out connections cost no output traffic. If the
            kernel's 1 MiB event buffer ever overflows, netmon says how many connections were lost.
            --json prints one object per connection: time (RFC 3339), pid, comm, ip, saddr, sport,
            daddr, dport, direction ("connect" or "accept").

            Hooks: sock:inet_sock_set_state (connect), and the exits of accept() and accept4():
            syscalls:sys_exit_accept4/sys_exit_accept, for which netmon mounts tracefs (and says so with
            --verbose) in a mount namespace of its own if the host has not mounted it; without CAP_SYS_ADMIN it uses
            raw_syscalls:sys_exit instead. Either way, while netmon watches accepts every system
            call of the host takes the kernel's slow path (measured: +54 ns per call, +169 ns with
            raw_syscalls:sys_exit); -r connect attaches no accept program and avoids it. A
            connect() already under way when netmon starts is not printed.
            """
    )

    public let common: CommonOptions
    let filter: ConnFilter

    public init(parsing arguments: [String]) throws(UsageError) {
        let options = try ParsedOptions(parsing: arguments, specs: Self.options, command: Self.name)
        var filter = ConnFilter()
        filter.pid = try options.value("pid").map { value throws(UsageError) in
            try ValueParser.pid(value, command: Self.name)
        }
        filter.localPorts = try options.value("port").map { value throws(UsageError) in
            try ValueParser.ports(value, limit: ConnFilter.maxPorts, command: Self.name)
        } ?? []
        filter.direction = try options.value("role").map { value throws(UsageError) in
            try Self.direction(value)
        }
        filter.family = try AddressFamilyFilter(options, command: Self.name)
        self.filter = filter
        common = try CommonOptions(options, command: Self.name)
    }

    /// Parses `-r`'s value.
    static func direction(_ text: String) throws(UsageError) -> ConnectionDirection {
        guard let direction = ConnectionDirection(rawValue: text) else {
            throw UsageError("invalid direction '\(text)' for --role: expected 'connect' or 'accept'", command: name)
        }
        return direction
    }

    /// The accept programs use the accept syscalls' tracepoints where tracefs is mounted.
    public var usesTracefs: Bool { filter.tracesAccepts }

    public func run(_ context: RunContext) throws {
        let loop = try EventLoop()
        try Privilege.require()
        WatchedProcess.warnIfAbsent(filter.pid, diagnostics: context.diagnostics)
        let job = try ConnJob(filter, chooser: context.chooser)

        let format = ConnFormat(family: filter.family)
        let lost = LostEvents(job, diagnostics: context.diagnostics)
        var printed = 0
        let json = common.json, count = common.count
        let output = context.output
        try job.onEvent { connection in
            let time = WallTime.ofMonotonic(connection.timestampNanoseconds)
            try output.line(json ? ConnFormat.json(connection, time: time) : format.row(connection, time: time))
            printed += 1
            if let count, printed >= count { throw NormalEnd() }
        }
        if !json {
            try output.line(format.header)
            try output.flush()
        }
        context.announceTracing()
        try Runner.forEachEvent(of: job.object, loop: loop, output: output, lost: lost)
    }
}
