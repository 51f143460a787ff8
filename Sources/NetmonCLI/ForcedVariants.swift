import BPFKit
import Glibc

extension VariantOverrides {
    /// The environment variable that forces program variants, so that tests can run older kernels'
    /// paths on a newer kernel: `NETMON_FORCE_VARIANT=bytes=kprobe,conn.accept=sys_exit`.
    /// Deliberately not a command-line option: it is for tests, and a forced variant the kernel
    /// cannot run fails with the reason.
    public static let environmentVariable = "NETMON_FORCE_VARIANT"

    /// The forced variants, checked against the jobs `commands` have.
    public static func fromEnvironment(commands: [any Subcommand.Type]) throws -> VariantOverrides {
        guard let value = getenv(environmentVariable).map({ String(cString: $0) }), !value.isEmpty else {
            return VariantOverrides()
        }
        let overrides: VariantOverrides
        do {
            overrides = try VariantOverrides(parsing: value, source: environmentVariable)
        } catch {
            throw RuntimeFailure(error.message, status: .usage)
        }
        let groups = commands.flatMap { $0.variantGroups.map(\.name) }
        if let unknown = overrides.unknownGroups(among: groups).first {
            throw RuntimeFailure("\(environmentVariable): no job '\(unknown)' (jobs: \(groups.joined(separator: ", ")))",
                                 status: .usage)
        }
        // A variant a job does not have is a typing error too: the same check choose() makes at
        // load time, made before anything runs so that it is a usage error like the others.
        for group in commands.flatMap({ $0.variantGroups }) {
            if let forced = overrides.forced(for: group.name), !group.variants.contains(where: { $0.name == forced }) {
                throw RuntimeFailure("\(environmentVariable): \(group.name) has no variant '\(forced)' (it has: \(group.variants.map(\.name).joined(separator: ", ")))",
                                     status: .usage)
            }
        }
        return overrides
    }
}
