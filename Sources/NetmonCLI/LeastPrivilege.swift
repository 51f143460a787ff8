import CLinux
import Glibc

/// Once every program is attached, netmon gives up the capabilities it needed only to get there
/// (loading and attaching: CAP_PERFMON, CAP_SYS_ADMIN for a private tracefs mount, everything
/// else root has). It keeps CAP_BPF alone, and only on kernels before 6.5: there every bpf(2)
/// command, the map reads of each interval or scrape and inerrs' iterator runs among them, needs
/// CAP_BPF while unprivileged BPF is disabled (Debian's default); from 6.5 on, commands on a map,
/// program or link fd netmon already holds are checked against the fd alone.
/// Capabilities belong to threads: this runs before netmon starts any other thread.
public enum LeastPrivilege {
    /// Capability numbers from <linux/capability.h>.
    static let capBPF = 39

    /// The capabilities kept, as a bit mask (bit N = capability N).
    public static var kept: UInt64 {
        kernelChecksEveryBPFCommand ? 1 << UInt64(capBPF) : 0
    }

    /// Names of the capabilities kept, for --help, README and tests.
    public static var keptNames: [String] { kept == 0 ? [] : ["CAP_BPF"] }

    /// Drops every capability but `kept` from this thread. Failing to drop is not fatal (netmon
    /// then runs as it did before), but is said on stderr.
    public static func drop(diagnostics: Diagnostics) {
        let result = clinux_keep_capabilities(kept)
        if result != 0 {
            diagnostics.line("netmon: could not drop capabilities: \(String(cString: strerror(-result)))")
        }
    }

    /// Linux before 6.5 checks CAP_BPF on every bpf(2) command when kernel.unprivileged_bpf_disabled is set.
    static var kernelChecksEveryBPFCommand: Bool {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard numbers.count == 2 else { return true }
        return (numbers[0], numbers[1]) < (6, 5)
    }
}
