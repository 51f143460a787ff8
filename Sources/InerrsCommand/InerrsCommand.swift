import BPFKit
import CNetmonBPF
import Glibc
import NetmonCLI
import NetmonJobs

/// `netmon inerrs`: every incoming TCP segment the kernel rejects, with the kernel's own reason.
public struct InerrsCommand: Subcommand {
    public static let name = "inerrs"
    public static let summary = "incoming TCP segments the kernel rejects, with its drop reason"

    static let options: [OptionSpec] = [
        OptionSpec("p", "pid", value: "PID", help: "only segments for sockets process PID holds; warns if none runs now"),
    ] + AddressFamilyFilter.specs + [
        OptionSpec(nil, "all", help: "also resource and socket-lifecycle drops (see below)"),
    ] + CommonOptions.specs(countMeaning: "segments")

    public static let help = CommandHelp(
        usage: "netmon inerrs [-p PID] [-4|-6] [-c N] [--json] [--all]",
        description: """
            One line per incoming TCP segment the kernel rejects, as it happens, with the reason
            the kernel itself gave (enum skb_drop_reason, read from the running kernel's BTF at
            start-up), on every path: before the socket lookup in tcp_v4_rcv/tcp_v6_rcv
            (checksum, header length, MD5/AO, min TTL) and after it (sequence, ACK, PAWS, SYN
            checks). Sockets of every network namespace of the host are watched.
            """,
        options: options,
        examples: [
            ("netmon inerrs", "every bad segment, live"),
            ("netmon inerrs -p 1234", "bad segments for the sockets of process 1234"),
            ("netmon inerrs --all -6", "every rejected IPv6 segment, resource drops included"),
            ("netmon inerrs --json -c 10", "ten rejected segments as JSON lines"),
        ],
        notes: """
            Columns: SADDR:SPORT is the segment's sender, DADDR:DPORT its destination on this
            host (IPv6 in brackets; IPv4-mapped addresses print, and count for -4, as IPv4).
            REASON is the kernel's drop reason without its SKB_DROP_REASON_ prefix (a number
            when the kernel does not name it). STATE is the TCP state of the socket the segment
            was for, or - when there was none. PID and COMM are the process that holds that
            socket (has a file descriptor on it): found by a scan of every process's open files
            at start-up and every 2 s, and kept current in between as processes connect(),
            listen() and accept(); a pre-fork server's connection belongs to the worker that
            accepted it. A socket passed over a unix socket or inherited by fork() names its
            new holder from the next scan on, and a process that closed its descriptor or
            exited is no longer named. Of several holders (a listener shared by forked workers,
            a passed descriptor) the first found is shown (the lowest PID at a scan, else the
            latest connect/listen/accept caller until the next scan); -p matches any of up to
            four. A connection not accept()ed yet and a request socket show their listener's
            holder. A socket no process holds any more that is still closing (FIN_WAIT,
            LAST_ACK) keeps its last holder. TIME_WAIT sockets and segments for no socket have
            no holder: PID and COMM are then the process the kernel happened to run in when it
            dropped the segment, and -p never matches them (--json: "holder": false).
            Watching accept() needs a syscall tracepoint, which makes every system call of the
            host take the kernel's slow path while netmon runs (+54 ns per call measured here).

            Reported by default, the segment itself was bad or unacceptable:
              TCP_CSUM PKT_TOO_SMALL TCP_FLAGS TCP_INVALID_SYN TCP_MINTTL TCP_OVERWINDOW
              TCP_INVALID_SEQUENCE TCP_INVALID_END_SEQUENCE TCP_INVALID_ACK_SEQUENCE
              TCP_OLD_SEQUENCE TCP_OLD_ACK TCP_TOO_OLD_ACK TCP_ACK_UNSENT_DATA
              TCP_RFC7323_PAWS TCP_RFC7323_PAWS_ACK TCP_RFC7323_TW_PAWS TCP_RFC7323_TSECR
              TCP_MD5NOTFOUND TCP_MD5UNEXPECTED TCP_MD5FAILURE TCP_AUTH_HDR TCP_AONOTFOUND
              TCP_AOUNEXPECTED TCP_AOKEYNOTFOUND TCP_AOFAILURE
            and any TCP_ reason whose name has CSUM, INVALID or PAWS in it.
            Added by --all, resource and socket-lifecycle drops:
              NO_SOCKET SOCKET_CLOSE SOCKET_FILTER SOCKET_RCVBUFF SOCKET_BACKLOG PROTO_MEM
              NOMEM PFMEMALLOC XFRM_POLICY TCP_ZEROWINDOW TCP_OLD_DATA TCP_OFOMERGE
              TCP_OFO_QUEUE_PRUNE TCP_OFO_DROP TCP_LISTEN_OVERFLOW TCP_RESET TCP_CLOSE
              TCP_ABORT_ON_DATA TCP_FASTOPEN
            and any other TCP_ or SOCKET_ reason. (TCP_OLD_DATA and TCP_OFOMERGE are
            duplicates of data already received: retransmissions, not bad segments.) Drops
            without a reason (NOT_SPECIFIED) are never shown. The lists are those of Linux
            6.18; a reason another kernel adds is sorted by the same name patterns.

            Kernels without drop reasons (before 5.17) get the same names from netmon's own
            checks, fewer of them: see README (netmon kernel shows the variant in use).
            """
    )

    public let common: CommonOptions
    let ownerPID: UInt32?
    let family: AddressFamilyFilter
    let all: Bool

    public init(parsing arguments: [String]) throws(UsageError) {
        let options = try ParsedOptions(parsing: arguments, specs: Self.options, command: Self.name)
        ownerPID = try options.value("pid").map { value throws(UsageError) in
            try ValueParser.pid(value, command: Self.name)
        }
        family = try AddressFamilyFilter(options, command: Self.name)
        all = options.isSet("all")
        common = try CommonOptions(options, command: Self.name)
    }

    /// The accept programs use the accept syscalls' tracepoints where tracefs is mounted.
    public var usesTracefs: Bool { true }

    public func run(_ context: RunContext) throws {
        let loop = try EventLoop()
        try Privilege.require()
        WatchedProcess.warnIfAbsent(ownerPID, diagnostics: context.diagnostics)
        let job = try InerrsJob(InerrsJob.Configuration(all: all, ownerPID: ownerPID, family: family),
                                chooser: context.chooser)

        let output = context.output
        let json = common.json
        let limit = common.count
        var printed = 0
        try job.onEvent { segment in
            try output.line(json ? InerrsFormat.json(segment) : InerrsFormat.table(segment))
            printed += 1
            if let limit, printed >= limit { throw NormalEnd() }
        }
        let lost = LostEvents(job, diagnostics: context.diagnostics)
        if !json {
            try output.line(InerrsFormat.header)
            try output.flush()
        }
        context.announceTracing()
        // Holders of sockets passed over a unix socket or inherited by fork() after start-up are
        // learned by the rescan, on the reading thread, after the lines read so far are printed.
        try Runner.forEachEvent(of: job.object, loop: loop, output: output, lost: lost,
                                housekeeping: Runner.Housekeeping(every: InerrsJob.rescanPeriod, InerrsJob.rescan))
    }
}
