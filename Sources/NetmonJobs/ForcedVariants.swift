import BPFKit
import Glibc

extension VariantOverrides {
    /// The environment variable that forces program variants, so that tests can run older kernels'
    /// paths on a newer kernel: `NETMON_FORCE_VARIANT=bytes=kprobe,conn.accept=sys_exit`.
    /// Deliberately not a command-line option: it is for tests, and a forced variant the kernel
    /// cannot run fails with the reason.
    public static let environmentVariable = "NETMON_FORCE_VARIANT"

    /// The forced variants, checked against every job's parts; a malformed value or an unknown job
    /// is a `notFound` error whose message names the variable.
    public static func fromEnvironment() throws(BPFError) -> VariantOverrides {
        guard let value = getenv(environmentVariable).map({ String(cString: $0) }), !value.isEmpty else {
            return VariantOverrides()
        }
        let overrides = try VariantOverrides(parsing: value, source: environmentVariable)
        let groups = Jobs.parts.map(\.name)
        if let unknown = overrides.unknownGroups(among: groups).first {
            throw BPFError(.notFound, "\(environmentVariable): no job '\(unknown)' (jobs: \(groups.joined(separator: ", ")))")
        }
        return overrides
    }
}
