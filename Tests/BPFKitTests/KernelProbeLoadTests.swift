import BPFKit
import Foundation
import Testing

/// The probes that are answered by loading: they must say what a real load says, both ways.
@Suite("BPFKit probes by loading", .serialized,
       .enabled(if: geteuid() == 0 || ProcessInfo.processInfo.environment["NETMON_REQUIRE_BPF_TESTS"] == "1", "requires root"))
struct KernelProbeLoadTests {
    static let source = """
        // SPDX-License-Identifier: GPL-2.0-only
        #define SEC(name) __attribute__((section(name), used))
        char LICENSE[] SEC("license") = "GPL";
        SEC("iter/task") int loads(void *ctx) { return 0; }
        SEC("tp_btf/netif_receive_skb") int reads_past_its_arguments(unsigned long long *ctx) { return (int)ctx[9]; }
        SEC("iter/bpf_sk_storage_map") int storage_iterator(void *ctx) { return 0; }
        """

    /// Source compiled with clang, as Scripts/embed-bpf does.
    static func compiled() throws -> Data {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bpfkit-probe-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("probe.bpf.c")
        let object = directory.appendingPathComponent("probe.bpf.o")
        try Self.source.write(to: source, atomically: true, encoding: .utf8)
        let clang = Process()
        clang.executableURL = URL(fileURLWithPath: "/bin/sh")
        clang.arguments = ["-c", "$(command -v clang-14 || command -v clang) -g -O2 -target bpf -c \(source.path) -o \(object.path)"]
        try clang.run()
        clang.waitUntilExit()
        try #require(clang.terminationStatus == 0)
        return try Data(contentsOf: object)
    }

    /// Whether libbpf loads `program` of the object on its own: the ground truth.
    static func libbpfLoads(_ program: String, of elf: Data) throws -> Bool {
        try elf.withUnsafeBytes { bytes in
            let spec = try BPFObjectSpec(name: "probe", elf: bytes)
            for name in spec.programNames { try spec.setAutoload(name == program, program: name) }
            do {
                _ = try spec.load()
                return true
            } catch {
                return false
            }
        }
    }

    @Test("programLoads: true for a program the verifier accepts, false for one it rejects, an unknown object, or no object source")
    func programLoads() throws {
        // libbpf reads the ELF where it is while the object is open: a copy that outlives the probe.
        let elf = try Self.compiled()
        let image = UnsafeMutableRawBufferPointer.allocate(byteCount: elf.count, alignment: 8)
        defer { image.deallocate() }
        elf.copyBytes(to: image)
        let probe = try KernelProbe(objects: { name throws(BPFError) in
            guard name == "probe" else { throw BPFError(.notFound, "no object \(name)") }
            return try BPFObjectSpec(name: name, elf: UnsafeRawBufferPointer(image))
        })
        #expect(probe.has(.programLoads(object: "probe", program: "loads")))
        #expect(!probe.has(.programLoads(object: "probe", program: "reads_past_its_arguments")))
        #expect(!probe.has(.programLoads(object: "probe", program: "no_such_program")))
        #expect(!probe.has(.programLoads(object: "other", program: "loads")))
        #expect(!(try KernelProbe()).has(.programLoads(object: "probe", program: "loads")))
    }

    @Test("an iterator target is available exactly when libbpf loads a program on it")
    func iterators() throws {
        let elf = try Self.compiled()
        let probe = try KernelProbe()
        #expect(probe.has(.hook(.iterator(target: "task"))) == (try Self.libbpfLoads("loads", of: elf)))
        #expect(probe.has(.hook(.iterator(target: "task"))))
        #expect(probe.has(.hook(.iterator(target: "bpf_sk_storage_map"))) == (try Self.libbpfLoads("storage_iterator", of: elf)))
        #expect(!probe.has(.hook(.iterator(target: "no_such_target"))))
    }
}
