import BPFKit
import CNetmonBPF
import NetmonCLI
import NetmonJobs

/// `netmon nic`: bytes and packets per TX and RX queue of one interface, every interval.
public struct NicCommand: Subcommand {
    public static let name = "nic"
    public static let summary = "per-queue TX/RX traffic of one interface, every interval"

    static let options: [OptionSpec] = [
        OptionSpec("n", "name", value: "IFACE", help: "the interface to watch (required)"),
        OptionSpec("i", "interval", value: "SEC", help: "seconds between reports, 0.01 to 86400; fractions allowed (default 1)"),
    ] + CommonOptions.specs(countMeaning: "intervals")

    public static let help = CommandHelp(
        usage: "netmon nic -n IFACE [-i SEC] [-c N] [--json] [--verbose]",
        description: """
            Every interval, for TX and for RX: one row per queue of IFACE (every queue the device has,
            idle ones included) and a Total row, with the average packet size, bytes per second (BPS)
            and packets per second (PPS). Counting happens in the kernel, in per-CPU maps; netmon
            reads them once per interval, whatever the packet rate.
            """,
        options: options,
        examples: [
            ("netmon nic -n eth0", "eth0's queues every second"),
            ("netmon nic -n eth0 -i 0.5 -c 10", "ten reports, half a second apart"),
            ("netmon nic -n lo --json -c 3 | jq .tx.total.bps", "three JSON reports, TX bytes/s of each"),
            ("ip netns exec blue netmon nic -n eth0", "eth0 of the network namespace 'blue'"),
        ],
        notes: """
            IFACE is looked up in the network namespace netmon runs in, and identified there by its
            index and that namespace, so another namespace's interface of the same name is never
            counted. If it is renamed while watched, reports show its new name; if it disappears,
            netmon says so and exits with status 1.

            Bytes are counted as the device's own counters (/sys/class/net/IFACE/statistics) count
            them: whole frames with their link-layer header, except on loopback devices, whose
            driver counts without it. Packets are the buffers the stack hands to (TX, at
            net:net_dev_start_xmit) and takes from (RX, at net:netif_receive_skb) the driver: a GSO
            or GRO buffer of several wire packets counts once, as on virtual devices' counters.
            The RX queue is the one the driver recorded (queue 0 when it recorded none).

            In the table, K is 1024 and M is 1048576 (as in bcc's netqtop); --json prints raw numbers:
            bytes, packets, avg_size, bps, pps per queue and in total, and the measured interval in
            seconds.
            """
    )

    public let common: CommonOptions
    let interfaceName: String
    let interval: Double

    public init(parsing arguments: [String]) throws(UsageError) {
        let options = try ParsedOptions(parsing: arguments, specs: Self.options, command: Self.name)
        guard let name = options.value("name"), !name.isEmpty else {
            throw UsageError("nic needs an interface: -n IFACE", command: Self.name)
        }
        guard name.utf8.count < 16 else {
            throw UsageError("invalid interface name '\(name)': at most 15 characters", command: Self.name)
        }
        interfaceName = name
        interval = try options.value("interval").map { value throws(UsageError) in
            try ValueParser.interval(value, command: Self.name)
        } ?? 1
        common = try CommonOptions(options, command: Self.name)
    }

    public func run(_ context: RunContext) throws {
        let loop = try EventLoop()
        try Privilege.require()
        let interface = try Interface(named: interfaceName)
        let queues = interface.queueCounts

        let job = try NicJob(.interface(ifindex: interface.index, countsLinkHeader: interface.countsLinkHeader,
                                        txQueues: queues.tx, rxQueues: queues.rx),
                             chooser: context.chooser)
        let slots = job.queueSlots
        var previous = try job.readInterface()
        var warnedAboutQueues = false
        context.announceTracing()

        try Runner.everyInterval(interval, count: common.count, loop: loop) { seconds in
            guard interface.exists else {
                throw RuntimeFailure("interface '\(interface.name)' disappeared")
            }
            let current = try job.readInterface()
            let report = NicReport(interface: interface.currentName ?? interface.name, seconds: seconds,
                                   tx: DirectionReport(from: previous.tx, to: current.tx, seconds: seconds),
                                   rx: DirectionReport(from: previous.rx, to: current.rx, seconds: seconds))
            previous = current
            let now = WallTime.now
            try context.output.write(common.json ? NicFormat.json(report, at: now) : NicFormat.table(report, at: now))
            try context.output.flush()

            let grown = interface.queueCounts
            if !warnedAboutQueues, grown.tx > slots.tx || grown.rx > slots.rx {
                warnedAboutQueues = true
                context.diagnostics.line(
                    "netmon: \(interface.name) now has \(grown.tx) TX and \(grown.rx) RX queues; restart netmon to count the new ones")
            }
        }
    }
}
