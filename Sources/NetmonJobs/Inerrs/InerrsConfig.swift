import BPFKit
import CNetmonBPF

/// The BPF program's read-only configuration.
enum InerrsConfig {
    /// Where the chosen variants keep and read socket owners.
    struct Storage: Equatable {
        /// Owners live in socket-local storage (the owners variant sk_storage).
        let socketLocal: Bool
        /// The drop program is BTF-typed and may read that storage.
        let dropReadsIt: Bool

        init(owners: InerrsProgram.OwnersVariant, drop: InerrsProgram.DropVariant) {
            socketLocal = owners == .socketStorage
            dropReadsIt = socketLocal && drop.mayReadSocketStorage
        }

        private init(socketLocal: Bool, dropReadsIt: Bool) {
            self.socketLocal = socketLocal
            self.dropReadsIt = dropReadsIt
        }

        /// Counting only (serve): no program learns or reads holders.
        static let withoutOwners = Storage(socketLocal: false, dropReadsIt: false)
    }

    static func make(reasons: [UInt32], ownerPID: UInt32?, family: AddressFamilyFilter,
                     storage: Storage) -> inerrs_config {
        var config = inerrs_config()
        withUnsafeMutableBytes(of: &config.reasons) { words in
            let bitmap = words.bindMemory(to: UInt64.self)
            for reason in reasons where reason < UInt32(INERRS_REASON_LIMIT) {
                bitmap[Int(reason / 64)] |= 1 << UInt64(reason % 64)
            }
        }
        config.owner_pid = ownerPID ?? 0
        config.ip_version = family.ipVersion
        config.sk_storage = storage.socketLocal ? 1 : 0
        config.drop_reads_storage = storage.dropReadsIt ? 1 : 0
        return config
    }
}
