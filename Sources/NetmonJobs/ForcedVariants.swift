import BPFKit
import Glibc

extension VariantOverrides {
    /// The environment variable that forces program variants, so that tests can run older kernels'
    /// paths on a newer kernel: `NETMON_FORCE_VARIANT=bytes=kprobe,conn.accept=sys_exit`.
    /// Deliberately not a command-line option: it is for tests, and a forced variant the kernel
    /// cannot run fails with the reason.
    public static let environmentVariable = "NETMON_FORCE_VARIANT"

    /// The forced variants, checked against every job's parts; a malformed value, an unknown job or
    /// a variant its job does not have is a `notFound` error whose message names the variable.
    public static func fromEnvironment() throws(BPFError) -> VariantOverrides {
        guard let value = getenv(environmentVariable).map({ String(cString: $0) }), !value.isEmpty else {
            return VariantOverrides()
        }
        let overrides = try VariantOverrides(parsing: value, source: environmentVariable)
        let groups = Jobs.parts.map(\.name)
        if let unknown = overrides.unknownGroups(among: groups).first {
            throw BPFError(.notFound, "\(environmentVariable): no job '\(unknown)' (jobs: \(groups.joined(separator: ", ")))")
        }
        // A variant a job does not have is a typing error too: the same check choose() makes at
        // load time, made before anything runs so that it is a usage error like the others.
        for group in Jobs.parts {
            if let forced = overrides.forced(for: group.name), !group.variants.contains(where: { $0.name == forced }) {
                throw BPFError(.notFound, "\(environmentVariable): \(group.name) has no variant '\(forced)' (it has: \(group.variants.map(\.name).joined(separator: ", ")))")
            }
        }
        return overrides
    }
}
