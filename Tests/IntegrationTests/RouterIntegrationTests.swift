import Foundation
import Testing

/// The binary's command line as a user meets it: help, version, usage errors, privilege.
@Suite("netmon command line")
struct RouterIntegrationTests {
    @Test("--help lists every command; --version prints the version")
    func helpAndVersion() throws {
        let help = try runNetmon(["--help"])
        #expect(help.status == 0 && help.stderr.isEmpty)
        for command in ["nic", "conn", "bytes", "inerrs"] {
            #expect(help.stdout.contains("\n  \(command) "), "\(command)")
        }
        let version = try runNetmon(["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("netmon "))
    }

    @Test("usage errors: one line and a hint on stderr, nothing on stdout, status 2", arguments: [
        ([], "netmon: no command given"),
        (["frobnicate"], "netmon: unknown command 'frobnicate'"),
        (["--frobnicate"], "netmon: unknown option '--frobnicate'"),
        (["nic", "-n", "lo", "-i", "0"], "netmon: invalid interval '0' for --interval: at least 0.01 seconds"),
        (["nic", "-n", "lo", "--bogus"], "netmon: unknown option '--bogus'"),
    ])
    func usageErrors(arguments: [String], message: String) throws {
        let result = try runNetmon(arguments)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 2 && lines.first.map(String.init) == message, "\(result.stderr)")
        #expect(lines.last?.hasPrefix("Try 'netmon") == true)
    }

    @Test("without root or CAP_BPF+CAP_PERFMON: one clear line, status 1",
          .enabled(if: geteuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0, "requires root to drop privileges"))
    func unprivileged() throws {
        let output = try sh("""
            setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \(netmonPath()) nic -n lo 2>&1; echo "status=$?"
            """)
        #expect(output == "netmon: needs root, or the capabilities CAP_BPF and CAP_PERFMON (try running it with sudo)\nstatus=1\n")
    }

    @Test("netmon kernel: every job of every command has a variant on this kernel, and --json says the same",
          .enabled(if: BPFTestGate.shouldRun, "requires root and kernel BTF"))
    func kernelReport() throws {
        let json = try runNetmon(["kernel", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let jobs = json.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let groups = jobs.compactMap { $0["group"] as? String }
        for command in ["nic", "conn", "bytes", "inerrs"] {
            #expect(groups.contains { $0.hasPrefix(command + ".") }, "no job of \(command): \(groups)")
        }
        for job in jobs {
            // This kernel (the CI's) runs every command: each job has a usable variant.
            #expect(job["chosen"] is String, "\(job)")
        }
        let table = try runNetmon(["kernel"])
        #expect(table.status == 0)
        #expect(table.stdout.split(separator: "\n").first?.hasPrefix("JOB") == true)
        for job in jobs {
            let line = table.stdout.split(separator: "\n").first { $0.hasPrefix("\(job["group"]!) ") }
            #expect(line?.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
                    == job["chosen"] as? String)
        }
    }
}
