import CBPFKit
import Glibc

/// A loaded BPF object and everything made from it: its attachments (links) and its ring-buffer
/// reader. It is the one owner of all of them and releases them when it goes away, in the order
/// the kernel wants: ring buffer, links (detaching the programs), then the object (maps, programs).
public struct BPFObject: ~Copyable {
    public let name: String
    private let handle: OpaquePointer
    private var links: [OpaquePointer] = []
    private var ringBuffer: OpaquePointer?
    private var ringBufferHandlers: [RingBufferHandler] = []
    /// Iterator links by program name, made on first use and kept for later runs (a box, so
    /// that running an iterator needs only a borrow of the object, as a periodic rescan has).
    private let iteratorLinks = IteratorLinks()

    init(name: String, handle: OpaquePointer) {
        self.name = name
        self.handle = handle
    }

    deinit {
        if let ringBuffer { ring_buffer__free(ringBuffer) }
        for link in iteratorLinks.byProgram.values { bpf_link__destroy(link) }
        for link in links.reversed() { bpf_link__destroy(link) }
        bpf_object__close(handle)
    }

    /// Attaches every loaded program at the hook its section names, except iterators, which run
    /// on demand (`runIterator`).
    public mutating func attachAll() throws(BPFError) {
        var program = bpf_object__next_program(handle, nil)
        while let current = program {
            program = bpf_object__next_program(handle, current)
            guard bpf_program__autoload(current) else { continue }
            if String(cString: bpf_program__section_name(current)).hasPrefix("iter") { continue }
            let programName = String(cString: bpf_program__name(current))
            guard let link = bpf_program__attach(current) else {
                throw BPFError.failed(.attachFailed, "cannot attach the BPF program '\(programName)'")
            }
            links.append(link)
        }
    }

    /// Runs iterator program `program` (`SEC("iter/…")`) once and returns everything it wrote with
    /// bpf_seq_write/BPF_SEQ_PRINTF. Map iterators (`iter/bpf_sk_storage_map`, `iter/bpf_map_elem`)
    /// name their map. The link is made on the first run and kept.
    public func runIterator(_ program: String, map mapName: String? = nil) throws(BPFError) -> [UInt8] {
        let link: OpaquePointer
        if let existing = iteratorLinks.byProgram[program] {
            link = existing
        } else {
            guard let handle = bpf_object__find_program_by_name(self.handle, program) else {
                throw BPFError(.notFound, "the BPF object '\(name)' has no program '\(program)'")
            }
            let mapFD = try mapName.map { name throws(BPFError) in try map(named: name).fd } ?? -1
            guard let made = cbpfkit_attach_iterator(handle, mapFD) else {
                throw BPFError.failed(.attachFailed, "cannot attach the BPF iterator '\(program)'")
            }
            iteratorLinks.byProgram[program] = made
            link = made
        }
        var data: UnsafeMutablePointer<UInt8>?
        var size = 0
        let result = cbpfkit_read_iterator(bpf_link__fd(link), &data, &size)
        guard result == 0 else {
            throw BPFError(.mapOperationFailed, "cannot run the BPF iterator '\(program)'", errno: -result)
        }
        defer { free(data) }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// The map called `name`; valid while this object lives.
    public func map(named name: String) throws(BPFError) -> BPFMap {
        guard let map = bpf_object__find_map_by_name(handle, name) else {
            throw BPFError(.notFound, "the BPF object '\(self.name)' has no map '\(name)'")
        }
        return BPFMap(map)
    }

    /// How many times the kernel skipped loaded program `program` because it was already running
    /// on that CPU (an interrupt entered its hook again): bpf_prog_info.recursion_misses, Linux
    /// 5.12+ (0 on older kernels, which do not count them). 0 for a program not loaded.
    public func recursionMisses(program: String) throws(BPFError) -> UInt64 {
        guard let handle = bpf_object__find_program_by_name(self.handle, program) else {
            throw BPFError(.notFound, "the BPF object '\(name)' has no program '\(program)'")
        }
        let fd = bpf_program__fd(handle)
        guard fd >= 0 else { return 0 }
        var info = bpf_prog_info()
        var length = UInt32(MemoryLayout<bpf_prog_info>.size)
        guard bpf_obj_get_info_by_fd(fd, &info, &length) == 0 else {
            throw BPFError(.mapOperationFailed, "cannot read the BPF program '\(program)'s counters", errno: errno)
        }
        return info.recursion_misses
    }

    // MARK: Ring buffers

    /// Starts reading the BPF_MAP_TYPE_RINGBUF map `mapName`: each record is handed to `handler`
    /// from `consumeRingBuffers()`. Several maps share one reader (and one epoll fd).
    public mutating func readRingBuffer(
        _ mapName: String, handler: @escaping (UnsafeRawBufferPointer) throws -> Void
    ) throws(BPFError) {
        let map = try map(named: mapName)
        let box = RingBufferHandler(handler)
        let context = Unmanaged.passUnretained(box).toOpaque()
        if let ringBuffer {
            let result = ring_buffer__add(ringBuffer, map.fd, RingBufferHandler.callback, context)
            guard result == 0 else {
                throw BPFError.failed(.ringBufferFailed, "cannot read ring buffer '\(mapName)'", result: result)
            }
        } else {
            guard let created = ring_buffer__new(map.fd, RingBufferHandler.callback, context, nil) else {
                throw BPFError.failed(.ringBufferFailed, "cannot read ring buffer '\(mapName)'")
            }
            ringBuffer = created
        }
        ringBufferHandlers.append(box)
    }

    /// The fd that becomes readable when a ring buffer has records: wait on it with poll(2).
    public var ringBufferFD: Int32? {
        ringBuffer.map { ring_buffer__epoll_fd($0) }
    }

    /// Hands every waiting record to its handler without blocking; returns how many there were.
    /// The first error a handler throws stops the reading and is rethrown here.
    @discardableResult
    public func consumeRingBuffers() throws -> Int {
        guard let ringBuffer else { return 0 }
        let count = ring_buffer__consume(ringBuffer)
        for box in ringBufferHandlers {
            if let error = box.error {
                box.error = nil
                throw error
            }
        }
        guard count >= 0 else {
            throw BPFError(.ringBufferFailed, "cannot read the ring buffer", errno: -count)
        }
        return Int(count)
    }
}

/// Carries a Swift handler through libbpf's C callback, and the error it threw back out.
final class RingBufferHandler {
    let handler: (UnsafeRawBufferPointer) throws -> Void
    var error: (any Error)?

    init(_ handler: @escaping (UnsafeRawBufferPointer) throws -> Void) {
        self.handler = handler
    }

    static let callback: ring_buffer_sample_fn = { context, data, size in
        let box = Unmanaged<RingBufferHandler>.fromOpaque(context!).takeUnretainedValue()
        do {
            try box.handler(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        } catch {
            box.error = error
            return -1  // stops ring_buffer__consume
        }
    }
}

/// The iterator links of one BPFObject, which destroys them.
final class IteratorLinks {
    var byProgram: [String: OpaquePointer] = [:]
}
