import Glibc

/// Whether this process may load and attach tracing programs.
public enum Privilege {
    // Capability numbers from <linux/capability.h>.
    private static let capSysAdmin = 21
    private static let capPerfmon = 38
    private static let capBPF = 39

    /// Root, CAP_SYS_ADMIN, or CAP_BPF together with CAP_PERFMON (Linux 5.8+), in the effective set.
    public static var canTrace: Bool {
        guard let status = KernelFile.read("/proc/self/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
              let mask = UInt64(line.dropFirst("CapEff:".count).filter { !$0.isWhitespace }, radix: 16)
        else { return geteuid() == 0 }
        func has(_ cap: Int) -> Bool { mask & (1 << UInt64(cap)) != 0 }
        return has(capSysAdmin) || (has(capBPF) && has(capPerfmon))
    }

    /// Throws `insufficientPrivilege` unless `canTrace`.
    public static func require() throws(BPFError) {
        guard canTrace else {
            throw BPFError(.insufficientPrivilege,
                           "needs root, or the capabilities CAP_BPF and CAP_PERFMON (try running it with sudo)")
        }
    }
}
