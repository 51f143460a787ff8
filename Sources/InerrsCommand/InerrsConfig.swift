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
