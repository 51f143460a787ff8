import BPFKit
import CNetmonBPF
import Glibc
import HTTPResponder
import NetmonCLI
import WebConfig
import NetmonJobs

/// `netmon serve`: the jobs' counters as Prometheus/OpenMetrics metrics over HTTP.
public struct ServeCommand: Subcommand {
    public static let name = "serve"
    public static let summary = "serve every job's counters to Prometheus (GET /metrics)"
    /// Outside 9100-9999 (the Prometheus exporters' allocated range, fully taken) and the
    /// well-known ports of other monitoring agents.
    public static let defaultPort: UInt16 = 10393

    static let options: [OptionSpec] = [
        OptionSpec(nil, "listen", value: "ADDR:PORT",
                   help: "where to listen: IPv4:PORT, [IPv6]:PORT or :PORT (default :\(defaultPort), every address)"),
        OptionSpec("n", "name", value: "IFACE[,IFACE...]", help: "only these interfaces' nic counters (default: every one)"),
        OptionSpec(nil, "comm-ttl", value: "SEC",
                   help: "drop a process name's series after SEC seconds without activity (default \(Int(ProcessSeries.defaultTTL)))"),
        OptionSpec(nil, "web.config.file", value: "FILE",
                   help: "TLS, basic auth and headers from an exporter-toolkit web config (as node_exporter's)"),
        OptionSpec(nil, "verbose", help: "say which program variant each job uses; show libbpf's messages"),
        OptionSpec("h", "help", help: "show this help"),
    ]

    public static let help = CommandHelp(
        usage: "netmon serve [--listen ADDR:PORT] [-n IFACE[,IFACE...]] [--comm-ttl SEC] [--web.config.file FILE] [--verbose]",
        description: """
            Runs until SIGINT or SIGTERM, serving GET /metrics (and a page at / linking to it) in
            the Prometheus text format or, when the client asks for it, OpenMetrics. The counters
            start at 0 when netmon starts and only grow; the kernel aggregates them in maps that
            are read at each scrape. Default port: \(defaultPort).
            """,
        options: options,
        examples: [
            ("netmon serve", "serve on port \(defaultPort) of every address"),
            ("netmon serve --listen 127.0.0.1:9999", "only on loopback, port 9999"),
            ("netmon serve --listen [::1]:0", "IPv6 loopback, a free port (printed at start)"),
            ("netmon serve -n eth0,eth1", "nic counters of eth0 and eth1 only"),
            ("netmon serve --web.config.file /etc/netmon/web.yml", "HTTPS and passwords, as node_exporter takes them"),
        ],
        notes: """
            Metrics (counters since netmon started; they never go backwards while it runs):
              netmon_nic_queue_bytes_total{device,queue,direction="tx"|"rx"}
              netmon_nic_queue_packets_total{device,queue,direction}
                  every queue of every interface of netmon's network namespace, including
                  interfaces created later, counted as 'netmon nic' counts
              netmon_tcp_connections_total{direction="connect"|"accept",family="4"|"6",comm}
                  as 'netmon conn' prints them
              netmon_tcp_bytes_total{direction="tx"|"rx",family,comm}
                  as 'netmon bytes' counts them, summed per process name
              netmon_tcp_rejected_segments_total{reason,family}
                  as 'netmon inerrs' prints them (its default reasons, named as this kernel
                  names them; every one exposed from the start)
              netmon_comm_folded_total{family}    process names beyond the cap (below)
              netmon_lost_events_total{source}    what the kernel could not count: packets (nic)
                                                  and transfers (bytes) that found a map full;
                                                  drops while a drop program already ran on
                                                  that CPU, which the kernel skips (inerrs);
                                                  0 for conn
              netmon_build_info{version}, process_cpu_seconds_total, process_resident_memory_bytes, ...

            The kernel counts in maps that a scrape reads; no event is handed over, so the
            counters are exact however fast connections or rejected segments come.

            comm is a process name, never a pid or a connection, so the number of series stays
            bounded: at most \(ProcessSeries.defaultLimit) names per family have series of their own;
            the others are counted under comm="\(ProcessSeries.overflow)" (17 bytes: no process can
            have that name, a comm is at most 15) and in netmon_comm_folded_total. A name none of
            whose counters moved for --comm-ttl seconds (default \(Int(ProcessSeries.defaultTTL))) expires:
            its series disappear and its slot is free again. A name that returns later starts again
            from 0, which Prometheus reads as a counter reset (rate() and increase() handle it).
            Process names show as every command shows them: control characters and bytes that are
            not UTF-8 as '?'.
            The kernel counts connections by (direction, family, name) in a map of at most
            \(Int(CONN_COUNT_MAX_KEYS)) keys that serve empties every second; connections whose name finds
            it full within that second are counted under comm="\(ProcessSeries.overflow)" too (and
            not in netmon_comm_folded_total, which counts names).
            conn, bytes and inerrs count sockets of every network namespace; nic counts netmon's.
            An interface named with -n that does not exist yet is counted once it appears; a
            renamed interface is reported under its new name from the next scrape; a removed
            interface's series keep their last values and name. A job the kernel cannot
            do is left out, with one line on stderr saying why. The interface label is 'device',
            as node_exporter's node_network_*{device} (on(device) joins work).

            HTTP: GET and HEAD only; a client has 5 s to send a request's head and a kept-alive
            connection closes after 15 s idle. At most 64 connections per client address (per /64
            for IPv6) and 256 in all: beyond that the oldest idle connection is closed for the
            newcomer, so idle or slow clients cannot keep a scrape out. serve raises its open-file
            soft limit to the hard limit at start.

            --web.config.file reads the exporter-toolkit web config, the file node_exporter
            takes: tls_server_config (cert_file, key_file, client_auth_type, client_ca_file,
            min_version, cipher_suites, ...), basic_auth_users (bcrypt hashes), and
            http_server_config.headers. A wrong or missing password gets 401 with
            WWW-Authenticate: Basic; a failed handshake or a missing client certificate ends
            that connection only. A wrong file is one line naming the key, exit status 2,
            before anything is loaded. SIGHUP reads the file again (a wrong file then keeps
            the one in use).

            Privileges: after attaching, and before its HTTP thread starts, serve drops every
            capability (Linux 6.5 and later) or keeps CAP_BPF alone (before 6.5, where each
            map read through bpf(2) needs it while unprivileged BPF is disabled).
            """
    )

    public let common: CommonOptions
    let listen: ListenAddress
    let interfaces: [String]?
    let webConfigFile: String?
    let commTTL: Double

    public init(parsing arguments: [String]) throws(UsageError) {
        let options = try ParsedOptions(parsing: arguments, specs: Self.options, command: Self.name)
        if let text = options.value("listen") {
            do {
                listen = try ListenAddress(parsing: text)
            } catch {
                throw UsageError("invalid --listen address: \(error.message)", command: Self.name)
            }
        } else {
            listen = ListenAddress(host: .any, port: Self.defaultPort)
        }
        interfaces = try options.value("name").map { value throws(UsageError) in
            let names = value.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            for name in names where name.isEmpty || name.utf8.count > 15 || name.contains("/") || name.contains(" ") {
                throw UsageError("invalid interface name '\(name)' in -n: 1 to 15 characters, no '/' or space", command: Self.name)
            }
            return names
        }
        commTTL = try options.value("comm-ttl").map { value throws(UsageError) in
            guard let seconds = ValueParser.decimal(value), seconds >= 1, seconds <= 604_800 else {
                throw UsageError("invalid value '\(value)' for --comm-ttl: a decimal number of seconds from 1 to 604800", command: Self.name)
            }
            return seconds
        } ?? ProcessSeries.defaultTTL
        webConfigFile = options.value("web.config.file")
        common = CommonOptions(verbose: options.isSet("verbose"))
    }

    /// The web config and its TLS context, read before anything else happens: a wrong file is
    /// one line naming it and the key, and exit status 2.
    func loadWebConfig() throws -> (config: WebConfig, tls: TLSServerContext?)? {
        guard let webConfigFile else { return nil }
        do {
            let config = try WebConfig.load(file: webConfigFile)
            return (config, try config.makeTLSContext(file: webConfigFile))
        } catch {
            throw RuntimeFailure("invalid --web.config.file: \(error)", status: .usage)
        }
    }

    /// What a web config enforces, in a few words for the start-up line.
    static func summary(_ config: WebConfig) -> String {
        var parts: [String] = []
        if let settings = config.tls { parts.append("TLS (\(settings.clientAuth.rawValue))") }
        if !config.users.isEmpty { parts.append("basic auth (\(config.users.count) user\(config.users.count == 1 ? "" : "s"))") }
        if !config.headers.isEmpty { parts.append("\(config.headers.count) extra header\(config.headers.count == 1 ? "" : "s")") }
        if config.rateLimit != nil { parts.append("a rate limit") }
        return parts.isEmpty ? "nothing to enforce" : parts.joined(separator: ", ")
    }

    /// SIGHUP: the web config is read again and applies to the requests and connections that
    /// follow; a file that is now wrong leaves the one in use in place.
    func reloadWebConfig(gate: WebGate, server: HTTPServer, _ context: RunContext) {
        guard let webConfigFile else { return }
        do {
            let config = try WebConfig.load(file: webConfigFile)
            guard (config.tls != nil) == server.usesTLS else {
                context.diagnostics.line("netmon: kept the web config in use: turning TLS on or off needs a restart")
                return
            }
            if let tls = try config.makeTLSContext(file: webConfigFile) { server.replaceTLSContext(tls) }
            gate.replace(with: config)
            context.diagnostics.line("netmon: web config \(webConfigFile) read again: \(Self.summary(config))")
        } catch {
            context.diagnostics.line("netmon: kept the web config in use: \(error)")
        }
    }

    /// conn's and inerrs' accept programs use the accept syscalls' tracepoints where tracefs is mounted.
    public var usesTracefs: Bool { true }

    public func run(_ context: RunContext) throws {
        let web = try loadWebConfig()
        let gate = web.map { WebGate($0.config) }
        // The event loop blocks SIGINT/SIGTERM before the server's thread exists, so that thread
        // inherits the mask and the signals reach the loop's signalfd.
        let loop = try EventLoop()
        let hangup = webConfigFile == nil ? nil : try SignalWatch(SIGHUP)
        try Privilege.require()
        OpenFileLimit.raiseToHardLimit()
        // Listening first, so that a taken port fails before anything is loaded.
        let page = MetricsPage(diagnostics: context.diagnostics)
        let server: HTTPServer
        do {
            let respond: HTTPServer.Handler = { page.respond(to: $0) }
            server = try HTTPServer(listening: listen, tls: web?.tls, handler: gate?.guarding(respond) ?? respond)
        } catch {
            throw RuntimeFailure("cannot serve on \(listen): \(error)")
        }
        let series = ProcessSeries(ttl: commTTL)
        let chooser = context.chooser
        let makers: [(String, () throws -> any MetricSource)] = [
            ("nic", { try NicSource(chooser: chooser, interfaces: interfaces) }),
            ("conn", { try ConnSource(chooser: chooser, series: series) }),
            ("bytes", { try BytesSource(chooser: chooser, series: series) }),
            ("inerrs", { try InerrsSource(chooser: chooser) }),
        ]
        var sources: [any MetricSource] = []
        for (name, make) in makers {
            // A job this kernel cannot do (bytes before 6.0, inerrs before 5.17) leaves the others
            // serving: one line says which and why.
            do {
                sources.append(try make())
            } catch let error as BPFError {
                context.diagnostics.line("netmon: serving without the \(name) metrics: \(error)")
                if context.verbose, let log = error.log { context.diagnostics.line(log) }
            } catch let error as RuntimeFailure {
                context.diagnostics.line("netmon: serving without the \(name) metrics: \(error.message)")
            } catch let error as JobFailure {
                context.diagnostics.line("netmon: serving without the \(name) metrics: \(error.message)")
            }
        }
        guard !sources.isEmpty else { throw RuntimeFailure("none of the jobs can run on this kernel") }
        page.install(sources: sources, series: series)
        // Before the server's thread starts, so that it inherits the reduced set.
        context.dropCapabilities()
        do {
            try server.start()
        } catch {
            throw RuntimeFailure("cannot serve on \(listen): \(error)")
        }
        defer { server.stop() }
        context.diagnostics.line("netmon: serving /metrics on \(server.address)")
        if let web, let webConfigFile {
            context.diagnostics.line("netmon: web config \(webConfigFile): \(Self.summary(web.config))")
        }
        context.announceTracing()
        while true {
            switch loop.wait(until: MonotonicClock.now + Self.pollInterval, readable: hangup?.fd) {
            case .stop, .outputClosed:
                return
            case .readable:
                if let gate, hangup?.consume() == true { reloadWebConfig(gate: gate, server: server, context) }
                try page.poll()
            case .deadline:
                try page.poll()
            }
        }
    }

    /// How often the event-driven sources' ring buffers are drained (the 1 MiB buffers hold far
    /// more than this many milliseconds of events).
    static let pollInterval: UInt64 = 100_000_000
}
