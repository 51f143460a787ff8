import Foundation
import Testing

/// Whether the BPF integration tests can run here: root (or CAP_BPF+CAP_PERFMON) and kernel BTF.
///
/// Outside CI they are skipped with a reason when they cannot run. With NETMON_REQUIRE_BPF_TESTS=1
/// (.ci/run sets it) they are never skipped: they run, and a missing privilege fails them.
enum BPFTestGate {
    static let required = ProcessInfo.processInfo.environment["NETMON_REQUIRE_BPF_TESTS"] == "1"

    static var missing: String? {
        if geteuid() != 0 { return "requires root" }
        if access("/sys/kernel/btf/vmlinux", R_OK) != 0 { return "requires kernel BTF at /sys/kernel/btf/vmlinux" }
        return nil
    }

    /// For `.enabled(if:)`: run when possible, and always when required.
    static var shouldRun: Bool { required || missing == nil }
}

@Suite("BPF test gate")
struct BPFTestGateTests {
    @Test("in CI the BPF integration tests have what they need")
    func requiredMeansRunnable() {
        if BPFTestGate.required {
            #expect(BPFTestGate.missing == nil, "NETMON_REQUIRE_BPF_TESTS=1 but: \(BPFTestGate.missing ?? "")")
        }
    }
}
