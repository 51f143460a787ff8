import Foundation
import Testing

/// What `netmon kernel --json` says the running kernel offers each job, so that a test can run
/// every variant this kernel supports (forcing each in turn) instead of only the preferred one.
/// On this machine that is the newest path; inside Scripts/vmtest's guests (5.10, 6.1, 6.12) the
/// older ones, against each guest's own counters.
enum KernelVariants {
    struct Job: Sendable {
        let group: String
        let chosen: String?
        /// Variants this kernel supports, best first.
        let available: [String]
        /// Variant → what the kernel lacks for it.
        let missing: [String: [String]]
    }

    /// Every job of every command, as this kernel supports them.
    static func jobs() throws -> [Job] {
        let result = try runNetmon(["kernel", "--json"])
        guard result.status == 0 else {
            throw ShellError(command: "netmon kernel --json", status: result.status, stderr: result.stderr)
        }
        return result.stdout.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let group = object["group"] as? String,
                  let variants = object["variants"] as? [[String: Any]]
            else { return nil }
            var available: [String] = []
            var missing: [String: [String]] = [:]
            for variant in variants {
                guard let name = variant["name"] as? String else { continue }
                if variant["available"] as? Bool == true { available.append(name) }
                missing[name] = variant["missing"] as? [String] ?? []
            }
            return Job(group: group, chosen: object["chosen"] as? String, available: available, missing: missing)
        }
    }

    /// The variants of `group` this kernel supports, best first (empty if it has no such group).
    static func available(_ group: String) throws -> [String] {
        try jobs().first { $0.group == group }?.available ?? []
    }

    /// The environment that makes netmon use `variant` for `group` (and every group below it).
    static func forcing(_ group: String, _ variant: String) -> [String: String] {
        ["NETMON_FORCE_VARIANT": "\(group)=\(variant)"]
    }
}

/// Guest checks: the focused, time-bounded integration checks Scripts/vmtest runs inside each
/// kernel's VM (10-20x slower there: no KVM). They are ordinary tests that also run natively in the
/// suite. A suite of guest checks is named `<Command>GuestChecks` (vmtest selects them by that
/// suffix) and carries the `.guest` tag; each check should take at most a few seconds on the host,
/// exercise every variant the running kernel supports (`KernelVariants`), and compare what netmon
/// prints with ground truth the check made or the kernel counted.
extension Tag {
    @Tag static var guest: Self
}
