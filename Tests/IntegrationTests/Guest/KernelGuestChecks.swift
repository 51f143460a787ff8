import Foundation
import Testing

/// What `netmon kernel` says about the running kernel, held against what the commands do on it:
/// a command whose every job has a variant starts with those variants (and each other supported
/// variant, forced, loads and attaches); a job without one, or a variant forced that the kernel
/// lacks, ends the command with one line naming the job and what is missing.
@Suite("kernel guest checks", .tags(.guest), .serialized, .connExclusive,
       .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
struct KernelGuestChecks {
    /// How each command is started for these checks: it runs until stopped.
    static let commandLines: [String: [String]] = [
        "nic": ["nic", "-n", "lo", "-i", "1"],
        "conn": ["conn"],
        "bytes": ["bytes", "-i", "1"],
        "inerrs": ["inerrs"],
    ]

    static func command(of group: String) -> String { String(group.prefix { $0 != "." }) }

    /// The jobs of each command, in the order the command chooses their variants.
    static func jobsByCommand() throws -> [(command: String, jobs: [KernelVariants.Job])] {
        var result: [(command: String, jobs: [KernelVariants.Job])] = []
        for job in try KernelVariants.jobs() {
            let command = command(of: job.group)
            if let index = result.firstIndex(where: { $0.command == command }) {
                result[index].jobs.append(job)
            } else {
                result.append((command, [job]))
            }
        }
        return result
    }

    /// What netmon wrote on stderr, less the note that it mounted tracefs for itself (hosts
    /// without tracefs) and libbpf's messages (--verbose).
    static func messages(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter {
            !$0.hasPrefix("libbpf: ") && !$0.contains("tracefs was not mounted")
        }
    }

    /// Runs `command` with `environment` until it prints "Tracing" or ends, then stops it.
    /// `verbose` adds a line per job naming its variant (only wanted where the command should start).
    static func startAndStop(_ command: String, verbose: Bool, environment: [String: String] = [:])
        throws -> (status: Int32, messages: [String]) {
        let arguments = try #require(commandLines[command], "no command line for '\(command)' in KernelGuestChecks.commandLines")
        let netmon = try NetmonProcess.start(arguments + (verbose ? ["--verbose"] : []), environment: environment, timeout: 60)
        let status = netmon.stop()
        // With --verbose a rejected program's verifier log follows; netmon's own lines are enough here.
        let lines = messages(netmon.stderr)
        return (status, verbose ? lines.filter { $0.hasPrefix("netmon: ") || $0.hasPrefix("Tracing") } : lines)
    }

    @Test("netmon kernel --json: a line per job of every command; each chooses its first available variant; the table agrees")
    func report() throws {
        let json = try runNetmon(["kernel", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let lines = json.stdout.split(separator: "\n")
        for line in lines {
            // Every variant says what it needs; what the kernel lacks is some of that.
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            for variant in object?["variants"] as? [[String: Any]] ?? [] {
                let requires = variant["requires"] as? [String] ?? []
                let missing = variant["missing"] as? [String] ?? []
                #expect(!requires.isEmpty && missing.allSatisfy(requires.contains), "\(variant)")
            }
        }
        let jobs = try KernelVariants.jobs()
        #expect(jobs.count == lines.count && !jobs.isEmpty, "parsed \(jobs.count) of \(lines.count) lines: \(json.stdout)")
        #expect(Set(jobs.map { Self.command(of: $0.group) }).isSuperset(of: ["nic", "conn", "bytes", "inerrs"]))
        for job in jobs {
            #expect(job.chosen == job.available.first, "\(job.group): chose \(job.chosen ?? "none"), available \(job.available)")
            for (variant, lacks) in job.missing {
                #expect(job.available.contains(variant) == lacks.isEmpty, "\(job.group) \(variant): lacks \(lacks)")
            }
        }
        // Counting packets needs only raw tracepoints (Linux 4.17+): nic runs on every kernel netmon supports.
        #expect(jobs.filter { $0.group.hasPrefix("nic.") }.allSatisfy { $0.chosen != nil })

        let table = try runNetmon(["kernel"])
        #expect(table.status == 0)
        let rows = table.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(rows.first?.first == "JOB")
        for job in jobs {
            let row = rows.first { $0.first == job.group }
            #expect(row?.dropFirst().first == (job.chosen ?? "-"), "\(job.group): \(row ?? [])")
        }
    }

    @Test("each command starts with the variants netmon kernel chose, and --verbose names them; a command with a job the kernel cannot do ends with one line saying what it lacks")
    func chosenVariants() throws {
        for (command, jobs) in try Self.jobsByCommand() {
            let unsupported = jobs.first { $0.chosen == nil }
            let run = try Self.startAndStop(command, verbose: unsupported == nil)
            if let unsupported {
                #expect(run.status == 1 && run.messages.count == 1, "\(command): \(run)")
                let line = run.messages.first ?? ""
                #expect(line.hasPrefix("netmon: \(unsupported.group): cannot "), "\(line)")
                for (variant, lacks) in unsupported.missing {
                    #expect(line.contains("for '\(variant)'") && lacks.allSatisfy(line.contains), "\(variant) \(lacks): \(line)")
                }
            } else {
                #expect(run.status == 0, "\(command): \(run)")
                for job in jobs {
                    #expect(run.messages.contains { $0.hasPrefix("netmon: \(job.group): \(job.chosen!) (") || $0 == "netmon: \(job.group): \(job.chosen!)" },
                            "\(command): \(run.messages)")
                }
                #expect(run.messages.last == "Tracing... Hit Ctrl-C to end.", "\(command): \(run.messages)")
            }
        }
    }

    @Test("every other variant this kernel supports, forced, loads and attaches")
    func otherAvailableVariants() throws {
        for (command, jobs) in try Self.jobsByCommand() where jobs.allSatisfy({ $0.chosen != nil }) {
            for job in jobs {
                for variant in job.available.dropFirst() {
                    let run = try Self.startAndStop(command, verbose: true, environment: KernelVariants.forcing(job.group, variant))
                    #expect(run.status == 0, "\(job.group)=\(variant): \(run)")
                    #expect(run.messages.contains { $0.hasPrefix("netmon: \(job.group): \(variant)") }, "\(job.group)=\(variant): \(run.messages)")
                    #expect(run.messages.last == "Tracing... Hit Ctrl-C to end.", "\(job.group)=\(variant): \(run.messages)")
                }
            }
        }
    }

    @Test("a variant this kernel lacks, forced: status 1 and one line naming the job and what is missing")
    func missingVariantsForced() throws {
        for (command, jobs) in try Self.jobsByCommand() {
            for (index, job) in jobs.enumerated() {
                for (variant, lacks) in job.missing where !lacks.isEmpty {
                    let run = try Self.startAndStop(command, verbose: false, environment: KernelVariants.forcing(job.group, variant))
                    #expect(run.status == 1 && run.messages.count == 1, "\(job.group)=\(variant): \(run)")
                    let line = run.messages.first ?? ""
                    // A job before it that this kernel cannot do at all fails first.
                    if let earlier = jobs[..<index].first(where: { $0.chosen == nil }) {
                        #expect(line.hasPrefix("netmon: \(earlier.group): cannot "), "\(line)")
                    } else {
                        #expect(line.hasPrefix("netmon: \(job.group): cannot ") && line.contains("(forced)")
                                && line.contains("for '\(variant)'") && lacks.allSatisfy(line.contains), "\(lacks): \(line)")
                    }
                }
            }
        }
    }

    @Test("a forced variant that does not exist, or a malformed NETMON_FORCE_VARIANT: one clear line")
    func badForcing() throws {
        let names = try #require(try KernelVariants.jobs().first { $0.group == "nic.tx" }).missing.keys
        let unknown = try runNetmon(["nic", "-n", "lo", "-c", "1"], environment: ["NETMON_FORCE_VARIANT": "nic=bogus"])
        #expect(unknown.status == 2 && unknown.stdout.isEmpty)
        #expect(Self.messages(unknown.stderr).count == 1)
        #expect(unknown.stderr.hasPrefix("netmon: NETMON_FORCE_VARIANT: nic.tx has no variant 'bogus' (it has: "), "\(unknown.stderr)")
        #expect(names.allSatisfy(unknown.stderr.contains), "\(names): \(unknown.stderr)")

        let malformed = try runNetmon(["nic", "-n", "lo", "-c", "1"], environment: ["NETMON_FORCE_VARIANT": "nic"])
        #expect(malformed.status == 2 && malformed.stdout.isEmpty)
        #expect(malformed.stderr == "netmon: NETMON_FORCE_VARIANT: 'nic' is not GROUP=VARIANT (e.g. bytes=kprobe)\n")

        // A misspelt job must not be ignored: the run would silently use the preferred variants.
        let misspelt = try runNetmon(["nic", "-n", "lo", "-c", "1"], environment: ["NETMON_FORCE_VARIANT": "nix=tp_btf"])
        #expect(misspelt.status == 2 && misspelt.stdout.isEmpty)
        #expect(Self.messages(misspelt.stderr).count == 1)
        #expect(misspelt.stderr.hasPrefix("netmon: NETMON_FORCE_VARIANT: no job 'nix' (jobs: nic.tx, nic.rx"), "\(misspelt.stderr)")
    }
}
