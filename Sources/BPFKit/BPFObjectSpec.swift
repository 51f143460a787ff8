import CBPFKit
import Glibc

/// A BPF object opened from an ELF image but not yet loaded: the phase in which programs can be
/// switched on or off, maps resized and read-only constants set. `load()` consumes it and hands
/// over a `BPFObject`; dropping it unloaded frees it.
public struct BPFObjectSpec: ~Copyable {
    public let name: String
    /// nil once `load()` has handed the object over.
    private var owned: OpaquePointer?
    private var handle: OpaquePointer { owned! }

    /// Opens `elf`, which must stay valid for the object's whole life (embedded objects are static).
    public init(name: String, elf: UnsafeRawBufferPointer) throws(BPFError) {
        LibbpfMessages.ensureCaptured()
        guard let object = cbpfkit_open_mem(elf.baseAddress, elf.count, name) else {
            throw BPFError.failed(.openFailed, "cannot open the BPF object '\(name)'")
        }
        self.name = name
        owned = object
    }

    deinit {
        if let owned { bpf_object__close(owned) }
    }

    public var programNames: [String] {
        var names: [String] = []
        var program = bpf_object__next_program(handle, nil)
        while let current = program {
            names.append(String(cString: bpf_program__name(current)))
            program = bpf_object__next_program(handle, current)
        }
        return names
    }

    public var mapNames: [String] {
        var names: [String] = []
        var map = bpf_object__next_map(handle, nil)
        while let current = map {
            names.append(String(cString: bpf_map__name(current)))
            map = bpf_object__next_map(handle, current)
        }
        return names
    }

    /// Whether `load()` loads (and `attachAll()` attaches) the program.
    public func setAutoload(_ enabled: Bool, program name: String) throws(BPFError) {
        let result = bpf_program__set_autoload(try program(name), enabled)
        guard result == 0 else {
            throw BPFError.failed(.openFailed, "cannot switch program '\(name)'", result: result)
        }
    }

    public func setMaxEntries(_ count: UInt32, map name: String) throws(BPFError) {
        let result = bpf_map__set_max_entries(try map(name), count)
        guard result == 0 else {
            throw BPFError.failed(.openFailed, "cannot size map '\(name)'", result: result)
        }
    }

    /// Sets a `const volatile` global (in .rodata) before load. The verifier sees the value as a
    /// constant, so a filter configured this way costs nothing when it is off.
    public func setConstant<T: BitwiseCopyable>(_ variable: String, to value: T) throws(BPFError) {
        guard let btf = bpf_object__btf(handle) else {
            throw BPFError(.notFound, "the BPF object '\(name)' has no BTF")
        }
        var offset: UInt32 = 0
        var size: UInt32 = 0
        guard cbpfkit_datasec_variable(btf, ".rodata", variable, &offset, &size) == 0 else {
            throw BPFError(.notFound, "the BPF object '\(name)' has no constant '\(variable)'")
        }
        guard Int(size) == MemoryLayout<T>.size else {
            throw BPFError(.notFound,
                           "constant '\(variable)' is \(size) bytes in '\(name)', not \(MemoryLayout<T>.size)")
        }
        guard let rodata = internalMap(suffix: ".rodata") else {
            throw BPFError(.notFound, "the BPF object '\(name)' has no .rodata")
        }
        var imageSize = 0
        guard let image = cbpfkit_map_initial_value(rodata, &imageSize), Int(offset + size) <= imageSize else {
            throw BPFError(.notFound, "cannot write constant '\(variable)' of '\(name)'")
        }
        image.storeBytes(of: value, toByteOffset: Int(offset), as: T.self)
    }

    /// Loads every enabled program into the kernel (CO-RE relocated against the kernel's BTF).
    /// A verifier rejection carries the verifier's log.
    public consuming func load() throws(BPFError) -> BPFObject {
        let object = handle
        owned = nil
        let result = bpf_object__load(object)
        guard result == 0 else {
            let error = BPFError.failed(.loadFailed, "the kernel refused to load the BPF object '\(name)'",
                                        result: result)
            bpf_object__close(object)
            throw error.explainingLoadFailure(object: name)
        }
        return BPFObject(name: name, handle: object)
    }

    private func program(_ name: String) throws(BPFError) -> OpaquePointer {
        guard let program = bpf_object__find_program_by_name(handle, name) else {
            throw BPFError(.notFound, "the BPF object '\(self.name)' has no program '\(name)'")
        }
        return program
    }

    private func map(_ name: String) throws(BPFError) -> OpaquePointer {
        guard let map = bpf_object__find_map_by_name(handle, name) else {
            throw BPFError(.notFound, "the BPF object '\(self.name)' has no map '\(name)'")
        }
        return map
    }

    private func internalMap(suffix: String) -> OpaquePointer? {
        var map = bpf_object__next_map(handle, nil)
        while let current = map {
            if bpf_map__is_internal(current), String(cString: bpf_map__name(current)).hasSuffix(suffix) {
                return current
            }
            map = bpf_object__next_map(handle, current)
        }
        return nil
    }
}

extension BPFError {
    /// Names the rejected program and says how to see the verifier's log.
    func explainingLoadFailure(object: String) -> BPFError {
        // libbpf introduces a verifier log with "prog 'NAME': -- BEGIN PROG LOAD LOG --".
        guard let log, let marker = log.firstRange(of: "-- BEGIN PROG LOAD LOG --"),
              let start = log[..<marker.lowerBound].ranges(of: "prog '").last
        else { return self }
        let program = log[start.upperBound...].prefix { $0 != "'" }
        return BPFError(.loadFailed,
                        "the kernel's verifier rejected the BPF program '\(program)' of '\(object)' (--verbose shows its log)",
                        errno: errno, log: log)
    }
}
