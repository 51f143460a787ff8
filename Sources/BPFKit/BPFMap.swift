import CBPFKit
import Glibc

/// A map of a loaded object, addressed by its fd. It does not own the map: use it only while the
/// `BPFObject` it came from lives.
public struct BPFMap: Sendable {
    public let name: String
    public let fd: Int32
    public let keySize: Int
    public let valueSize: Int
    public let maxEntries: Int
    public let isPerCPU: Bool

    init(_ map: OpaquePointer) {
        name = String(cString: bpf_map__name(map))
        fd = bpf_map__fd(map)
        keySize = Int(bpf_map__key_size(map))
        valueSize = Int(bpf_map__value_size(map))
        maxEntries = Int(bpf_map__max_entries(map))
        switch bpf_map__type(map) {
        case BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH:
            isPerCPU = true
        default:
            isPerCPU = false
        }
    }

    /// The number of value slots a per-CPU lookup returns: one per possible CPU.
    public static let possibleCPUs: Int = Int(max(libbpf_num_possible_cpus(), 1))

    /// The value stored under `key`, or nil when there is none. Not for per-CPU maps.
    public func lookup<Key: BitwiseCopyable, Value: BitwiseCopyable>(
        _ key: Key, as _: Value.Type = Value.self
    ) throws(BPFError) -> Value? {
        try checkSizes(Key.self, Value.self, perCPU: false)
        var key = key
        var value = unsafe_zero(Value.self)
        guard bpf_map_lookup_elem(fd, &key, &value) == 0 else {
            if errno == ENOENT { return nil }
            throw BPFError(.mapOperationFailed, "cannot read map '\(name)'", errno: errno)
        }
        return value
    }

    /// Every CPU's value under `key` of a per-CPU map (empty when there is no such key).
    public func lookupPerCPU<Key: BitwiseCopyable, Value: BitwiseCopyable>(
        _ key: Key, as _: Value.Type = Value.self
    ) throws(BPFError) -> [Value] {
        try checkSizes(Key.self, Value.self, perCPU: true)
        // The kernel copies each CPU's value into a slot rounded up to 8 bytes.
        let stride = (valueSize + 7) & ~7
        var buffer = [UInt8](repeating: 0, count: stride * Self.possibleCPUs)
        var key = key
        let result = buffer.withUnsafeMutableBytes { bpf_map_lookup_elem(fd, &key, $0.baseAddress) }
        guard result == 0 else {
            if errno == ENOENT { return [] }
            throw BPFError(.mapOperationFailed, "cannot read map '\(name)'", errno: errno)
        }
        return buffer.withUnsafeBytes { bytes in
            (0..<Self.possibleCPUs).map { bytes.loadUnaligned(fromByteOffset: $0 * stride, as: Value.self) }
        }
    }

    /// The sum over all CPUs of a per-CPU map's UInt64 counter (0 when the key is absent).
    public func sumPerCPU<Key: BitwiseCopyable>(_ key: Key) throws(BPFError) -> UInt64 {
        try lookupPerCPU(key, as: UInt64.self).reduce(0, &+)
    }

    /// Every key, in the kernel's order. Entries added or deleted meanwhile may be missed.
    public func keys<Key: BitwiseCopyable>(as _: Key.Type = Key.self) throws(BPFError) -> [Key] {
        guard MemoryLayout<Key>.size == keySize else { throw sizeMismatch("key", MemoryLayout<Key>.size, keySize) }
        var keys: [Key] = []
        var current = unsafe_zero(Key.self)
        var next = unsafe_zero(Key.self)
        var result = bpf_map_get_next_key(fd, nil, &next)
        while result == 0 {
            keys.append(next)
            current = next
            result = bpf_map_get_next_key(fd, &current, &next)
        }
        guard errno == ENOENT else {
            throw BPFError(.mapOperationFailed, "cannot list the keys of map '\(name)'", errno: errno)
        }
        return keys
    }

    /// Removes `key`; false when it was not there.
    @discardableResult
    public func delete<Key: BitwiseCopyable>(_ key: Key) throws(BPFError) -> Bool {
        guard MemoryLayout<Key>.size == keySize else { throw sizeMismatch("key", MemoryLayout<Key>.size, keySize) }
        var key = key
        guard bpf_map_delete_elem(fd, &key) == 0 else {
            if errno == ENOENT { return false }
            throw BPFError(.mapOperationFailed, "cannot delete from map '\(name)'", errno: errno)
        }
        return true
    }

    /// Stores `value` under `key` (any flags: create or replace). Not for per-CPU maps.
    public func update<Key: BitwiseCopyable, Value: BitwiseCopyable>(_ key: Key, _ value: Value) throws(BPFError) {
        try checkSizes(Key.self, Value.self, perCPU: false)
        var key = key
        var value = value
        guard bpf_map_update_elem(fd, &key, &value, UInt64(BPF_ANY)) == 0 else {
            throw BPFError(.mapOperationFailed, "cannot write map '\(name)'", errno: errno)
        }
    }

    private func checkSizes<Key, Value>(_: Key.Type, _: Value.Type, perCPU: Bool) throws(BPFError) {
        guard MemoryLayout<Key>.size == keySize else { throw sizeMismatch("key", MemoryLayout<Key>.size, keySize) }
        guard MemoryLayout<Value>.size == valueSize else {
            throw sizeMismatch("value", MemoryLayout<Value>.size, valueSize)
        }
        guard perCPU == isPerCPU else {
            throw BPFError(.mapOperationFailed,
                           "map '\(name)' is \(isPerCPU ? "" : "not ")per-CPU; use \(isPerCPU ? "lookupPerCPU" : "lookup")")
        }
    }

    private func sizeMismatch(_ what: String, _ swift: Int, _ kernel: Int) -> BPFError {
        BPFError(.mapOperationFailed, "map '\(name)' has \(kernel)-byte \(what)s, not \(swift)")
    }
}

/// A zero-filled value of a plain-data type, as the destination of a kernel copy.
@inline(__always)
private func unsafe_zero<T: BitwiseCopyable>(_: T.Type) -> T {
    withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { buffer in
        UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0)
        return buffer[0]
    }
}
