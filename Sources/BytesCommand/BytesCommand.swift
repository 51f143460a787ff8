import BPFKit
import CNetmonBPF
import NetmonCLI
import NetmonJobs

/// `netmon bytes`: TCP bytes each process moved on each connection, every interval (tcptop, exact).
public struct BytesCommand: Subcommand {
    public static let name = "bytes"
    public static let summary = "TCP bytes per process and connection, every interval"

    static let options: [OptionSpec] = [
        OptionSpec("p", "pid", value: "PID", help: "only this process (its process id, the tgid); warns if none runs now"),
        OptionSpec("i", "interval", value: "SEC", help: "seconds between reports, 0.01 to 86400; fractions allowed (default 1)"),
    ] + AddressFamilyFilter.specs + [
        OptionSpec("C", "noclear", help: "do not clear the screen between reports"),
    ] + CommonOptions.specs(countMeaning: "intervals")

    public static let help = CommandHelp(
        usage: "netmon bytes [-p PID] [-i SEC] [-4|-6] [-C] [-c N] [--json] [--verbose]",
        description: """
            Every interval, the TCP bytes each process received (RX) and sent (TX) on each of its
            connections: a time header, an IPv4 table and an IPv6 table, one row per process and
            connection that moved bytes in the interval, most bytes first. Counting happens in the
            kernel; netmon reads and clears the counts once per interval, whatever the traffic.
            """,
        options: options,
        examples: [
            ("netmon bytes", "every process's TCP traffic, every second"),
            ("netmon bytes -C -i 5", "every 5 seconds, without clearing the screen"),
            ("netmon bytes -p 1234 -4", "process 1234's IPv4 connections"),
            ("netmon bytes --json -c 10 | jq .tx_bytes", "ten intervals as JSON lines"),
        ],
        notes: """
            Bytes are what the process's calls actually transferred (what send, write, sendmsg,
            sendfile and splice to a socket, recv, read and recvmsg returned, not the size asked
            for), counted at the tracepoints sock:sock_send_length and sock:sock_recv_length
            (Linux 6.3+), or where a kernel lacks them at the return of tcp_sendmsg, tcp_sendpage
            and tcp_recvmsg (fexit, else kprobes), and charged to the process that made the call.
            `netmon kernel` shows which this kernel uses. Peeked bytes (MSG_PEEK)
            count when they are read. Not counted: splice from a TCP socket and TCP zero-copy
            receive (TCP_ZEROCOPY_RECEIVE), which bypass the socket layer's receive call; MPTCP.

            SADDR:SPORT is the local end, DADDR:DPORT the remote end. Sockets of every network
            namespace of the host are counted. An IPv4-mapped IPv6 connection (::ffff:a.b.c.d) is
            an IPv4 connection: it is shown dotted in the IPv4 table, and -4 includes it.
            A connection that opens and closes within an interval still shows in that interval.

            RX_KB and TX_KB are whole KiB (bytes / 1024, rounded down), as in bcc's tcptop;
            --json prints one object per row per interval with raw rx_bytes and tx_bytes. On
            Ctrl-C, the bytes of the unfinished interval are printed as a last report. The screen
            is cleared between reports only when standard output is a terminal (and not with -C).
            If more than 16384 process/connection pairs move bytes in one interval, the excess
            is not counted, and netmon says on standard error how many updates it dropped.
            """
    )

    public let common: CommonOptions
    let pid: UInt32?
    let interval: Double
    let families: AddressFamilyFilter
    let noClear: Bool

    public init(parsing arguments: [String]) throws(UsageError) {
        let options = try ParsedOptions(parsing: arguments, specs: Self.options, command: Self.name)
        pid = try options.value("pid").map { value throws(UsageError) in
            try ValueParser.pid(value, command: Self.name)
        }
        interval = try options.value("interval").map { value throws(UsageError) in
            try ValueParser.interval(value, command: Self.name)
        } ?? 1
        families = try AddressFamilyFilter(options, command: Self.name)
        noClear = options.isSet("noclear")
        common = try CommonOptions(options, command: Self.name)
    }

    var config: bytes_config {
        bytes_config(tgid: pid ?? 0, family: families.ipVersion, reserved: (0, 0, 0))
    }

    public func run(_ context: RunContext) throws {
        let loop = try EventLoop()
        try Privilege.require()
        WatchedProcess.warnIfAbsent(pid, diagnostics: context.diagnostics)

        let job = try BytesJob(config, chooser: context.chooser)
        var droppedReported: UInt64 = 0
        context.announceTracing()

        let clear = context.output.isTerminal && !noClear && !common.json
        func report(final: Bool) throws {
            let report = BytesReport(rows: try job.drain())
            let dropped = job.lostEvents
            if dropped > droppedReported {
                context.diagnostics.line(
                    "netmon: dropped \(dropped - droppedReported) updates (more than \(BYTES_DEFAULT_MAX_FLOWS) process/connection pairs in one interval)")
                droppedReported = dropped
            }
            if final && report.isEmpty { return }
            let now = WallTime.now
            if common.json {
                try context.output.write(BytesFormat.json(report, at: now))
            } else {
                if clear { try context.output.write(BytesFormat.clearScreen) }
                try context.output.write(BytesFormat.table(report, at: now, families: families))
            }
            try context.output.flush()
        }

        var made = 0
        try Runner.everyInterval(interval, count: common.count, loop: loop) { _ in
            try report(final: false)
            made += 1
        }
        // Stopped by a signal (or a closed output, where the write ends quietly): what was counted
        // since the last report is still news.
        if common.count.map({ made < $0 }) ?? true {
            try report(final: true)
        }
    }
}
