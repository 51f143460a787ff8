import Foundation
import Testing

/// The command line on the running kernel: help and usage errors need no BPF, but the privilege
/// check does (what an unprivileged user may load differs between kernels), so the guests run the
/// native suite's checks of them again.
@Suite("command line guest checks", .tags(.guest), .serialized)
struct RouterGuestChecks {
    let native = RouterIntegrationTests()

    @Test("--help lists every command; --version; a usage error is one line, a hint and status 2")
    func helpAndUsage() throws {
        try native.helpAndVersion()
        try native.usageErrors(arguments: ["nic", "-n", "lo", "--bogus"], message: "netmon: unknown option '--bogus'")
    }

    @Test("without root or CAP_BPF+CAP_PERFMON: one clear line, status 1",
          .enabled(if: geteuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0, "requires root to drop privileges"))
    func unprivileged() throws {
        try native.unprivileged()
    }
}
