import BPFKit
import CNetmonBPF
import NetmonCLI

/// The BPF program's read-only configuration.
enum InerrsConfig {
    static func make(reasons: [UInt32], ownerPID: UInt32?, family: AddressFamilyFilter) -> inerrs_config {
        var config = inerrs_config()
        withUnsafeMutableBytes(of: &config.reasons) { words in
            let bitmap = words.bindMemory(to: UInt64.self)
            for reason in reasons where reason < UInt32(INERRS_REASON_LIMIT) {
                bitmap[Int(reason / 64)] |= 1 << UInt64(reason % 64)
            }
        }
        config.owner_pid = ownerPID ?? 0
        switch family {
        case .both: config.ip_version = 0
        case .ipv4: config.ip_version = 4
        case .ipv6: config.ip_version = 6
        }
        return config
    }
}

/// The running kernel's version, from uname (for what a tracepoint's arguments are).
struct KernelVersion: Comparable {
    let major: Int
    let minor: Int

    init(_ major: Int, _ minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// From a release string such as "6.18.44-fc-v657".
    init(release: String) {
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).map { Int($0) ?? 0 }
        self.init(numbers.first ?? 0, numbers.count > 1 ? numbers[1] : 0)
    }

    static var current: KernelVersion {
        let release = KernelFile.value("/proc/sys/kernel/osrelease") ?? ""
        return KernelVersion(release: release)
    }

    static func < (lhs: KernelVersion, rhs: KernelVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }
}
