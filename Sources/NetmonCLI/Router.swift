import BPFKit
import CNetmonBPF
import NetmonJobs

/// Reads `netmon [COMMAND] ARGS…`, runs the command, and turns every outcome into an exit status
/// with at most one line (plus a hint, or the verifier log with --verbose) on stderr.
public struct Router {
    public static let version = "0.1.0"
    /// The git commit this binary was built from (Scripts/embed-bpf stamps it at build time).
    public static let commit = String(cString: netmon_build_commit())

    private let commands: [any Subcommand.Type]
    private let diagnostics = Diagnostics()

    /// `commands` in the order `netmon --help` lists them; `netmon kernel` is added after them.
    public init(commands: [any Subcommand.Type]) {
        self.commands = commands + [KernelCommand.self]
    }

    /// What `netmon --help` and netmon(8) say about netmon as a whole (one text for both).
    static let overview = """
        Watch the Linux network stack through eBPF: per-queue NIC traffic, TCP connections,
        TCP bytes per process and connection, and incoming TCP segments the kernel rejects.
        """
    static let options = [
        OptionSpec("h", "help", help: "show this help, or a command's with 'netmon COMMAND --help'"),
        OptionSpec("V", "version", help: "show netmon's version and the commit it was built from"),
    ]
    static let requirements = """
        netmon needs root (or CAP_BPF and CAP_PERFMON) and a kernel with BTF (/sys/kernel/btf/vmlinux).
        Once its programs are attached it drops every capability (CAP_BPF stays before Linux 6.5).
        Exit status: 0 on a normal end (count reached, Ctrl-C, SIGTERM, closed pipe), 1 on a run-time
        failure, 2 on a usage error.
        """
    static let examples = [
        (command: "netmon nic -n eth0 -i 2", meaning: "per-queue traffic of eth0 every 2 seconds"),
        (command: "netmon conn -r accept -P 443", meaning: "connections accepted on local port 443"),
        (command: "netmon nic --help", meaning: "everything nic can do"),
    ]

    public var help: String {
        let width = (commands.map { $0.name.count }.max() ?? 0) + 2
        var lines = ["Usage: netmon COMMAND [OPTIONS]", "", Self.overview, "", "Commands:"]
        for command in commands {
            lines.append("  " + command.name.leftAligned(width) + command.summary)
        }
        lines += ["", "Options:"]
        let optionWidth = (Self.options.map { $0.synopsis.count }.max() ?? 0) + 2
        for option in Self.options {
            lines.append("  " + option.synopsis.leftAligned(optionWidth) + option.help)
        }
        lines += ["", Self.requirements, "", "Examples:"]
        let exampleWidth = (Self.examples.map { $0.command.count }.max() ?? 0) + 1
        for example in Self.examples {
            lines.append("  " + example.command.leftAligned(exampleWidth) + example.meaning)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `netmon help --man [COMMAND]` and `netmon help --completion bash|zsh|fish`: the manual
    /// pages and shell completions Scripts/package installs, generated from the same help texts
    /// and option tables as --help. Not listed in --help (for packagers, not users).
    private func generate(_ arguments: [String]) -> ExitStatus {
        switch (arguments.first, arguments.count) {
        case ("--man", 1):
            return print(ManPage.overview(commands: commands))
        case ("--man", 2):
            guard let command = commands.first(where: { $0.name == arguments[1] }) else {
                return usage(UsageError("unknown command '\(arguments[1])'"))
            }
            return print(ManPage.command(command))
        case ("--completion", 2):
            guard let shell = ShellCompletion.Shell(rawValue: arguments[1]) else {
                return usage(UsageError("no completion for shell '\(arguments[1])' (bash, zsh or fish)"))
            }
            return print(ShellCompletion.script(for: shell, commands: commands))
        default:
            return usage(UsageError("usage: netmon help [--man [COMMAND] | --completion bash|zsh|fish]"))
        }
    }

    /// Runs `arguments` (without the program name) and returns the exit status.
    public func run(_ arguments: [String]) -> ExitStatus {
        guard let first = arguments.first else {
            return usage(UsageError("no command given"))
        }
        switch first {
        case "help" where arguments.count > 1:
            return generate(Array(arguments.dropFirst()))
        case "-h", "--help", "help":
            return print(help)
        case "-V", "--version":
            return print("netmon \(Self.version) (commit \(Self.commit))\n")
        default:
            break
        }
        guard let command = commands.first(where: { $0.name == first }) else {
            let what = first.hasPrefix("-") ? "unknown option '\(first)'" : "unknown command '\(first)'"
            return usage(UsageError(what))
        }
        let rest = Array(arguments.dropFirst())
        if rest.contains("-h") || rest.contains("--help") {
            return print(command.help.text)
        }
        let parsed: any Subcommand
        do {
            parsed = try command.init(parsing: rest)
        } catch {
            return usage(error)
        }
        return execute(parsed)
    }

    private func execute(_ command: any Subcommand) -> ExitStatus {
        LibbpfMessages.capture(echo: command.common.verbose)
        let output = OutputWriter()
        do {
            let overrides = try settle(command)
            try command.run(RunContext(output: output, diagnostics: diagnostics, verbose: command.common.verbose,
                                       variantOverrides: overrides))
            try output.flush()
            return .success
        } catch is NormalEnd {
            return .success
        } catch let error as UsageError {
            return usage(error)
        } catch let error as RuntimeFailure {
            diagnostics.line("netmon: \(OneLine.escaping(error.message))")
            return error.status
        } catch let error as JobFailure {
            diagnostics.line("netmon: \(error.message)")
            return .failure
        } catch let error as BPFError {
            diagnostics.line("netmon: \(OneLine.escaping(String(describing: error)))")
            if command.common.verbose, let log = error.log {
                diagnostics.line(log)
            }
            return .failure
        } catch {
            diagnostics.line("netmon: \(OneLine.escaping(String(describing: error)))")
            return .failure
        }
    }

    /// What is process-wide and settled once, before the command runs (and before it starts any
    /// thread): the forced variants, and tracefs, which netmon mounts in a mount namespace of its
    /// own when the host has not mounted it and the command may use classic tracepoints.
    private func settle(_ command: any Subcommand) throws -> VariantOverrides {
        let overrides: VariantOverrides
        do {
            overrides = try VariantOverrides.fromEnvironment()
        } catch {
            throw RuntimeFailure(error.message, status: .usage)
        }
        if command.usesTracefs, PrivateTracefs.mountIfMissing() == .mountedPrivately, command.common.verbose {
            diagnostics.line(PrivateTracefs.mountedNote)
        }
        return overrides
    }

    private func usage(_ error: UsageError) -> ExitStatus {
        diagnostics.line("netmon: \(OneLine.escaping(error.message))")
        diagnostics.line(error.hint)
        return .usage
    }

    private func print(_ text: String) -> ExitStatus {
        let output = OutputWriter()
        do {
            try output.write(text)
            try output.flush()
        } catch {}
        return .success
    }
}
