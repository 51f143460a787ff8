import BPFKit
import CNetmonBPF
import Foundation
import Testing

/// The errors a user sees, each one line that names what is wrong.
@Suite("BPFKit errors")
struct BPFKitErrorTests {
    func nicSpec() throws -> BPFObjectSpec {
        let object = try #require(netmon_bpf_object_named("nic"))
        return try BPFObjectSpec(name: "nic", elf: UnsafeRawBufferPointer(start: object.pointee.bytes, count: object.pointee.size))
    }

    @Test("a hook this kernel lacks is named", .enabled(if: access(KernelBTF.path, R_OK) == 0, "requires kernel BTF"))
    func missingHook() throws {
        let spec = try nicSpec()
        let kernel = try KernelBTF()
        let present = Hook.btfTracepoint(category: "net", name: "net_dev_start_xmit").exists(in: kernel)
        #expect(present)
        let error = try #require(throws: BPFError.self) {
            try spec.chooseProgram([("nic_tx_btf", .btfTracepoint(category: "net", name: "no_such_tracepoint")),
                                    ("nic_tx_raw", .rawTracepoint(category: "net", name: "no_such_tracepoint"))],
                                   kernel: kernel)
        }
        #expect(error.code == .hookMissing)
        #expect(error.description == "tracepoint net:no_such_tracepoint does not exist on this kernel")
    }

    @Test("the fallback is chosen when the preferred hook is missing", .enabled(if: access(KernelBTF.path, R_OK) == 0, "requires kernel BTF"))
    func fallback() throws {
        let spec = try nicSpec()
        let kernel = try KernelBTF()
        let chosen = try spec.chooseProgram([("nic_tx_btf", .btfTracepoint(category: "net", name: "no_such_tracepoint")),
                                             ("nic_tx_raw", .rawTracepoint(category: "net", name: "net_dev_start_xmit"))],
                                            kernel: kernel)
        #expect(chosen == "nic_tx_raw")
    }

    @Test("kernel enums are read from BTF", .enabled(if: access(KernelBTF.path, R_OK) == 0, "requires kernel BTF"))
    func enums() throws {
        let kernel = try KernelBTF()
        let states = kernel.enumerators(of: "skb_drop_reason")
        #expect(states.contains { $0.name == "SKB_DROP_REASON_NOT_SPECIFIED" })
        #expect(kernel.enumerators(of: "no_such_enum_in_any_kernel").isEmpty)
    }
}

/// A program the verifier must reject: its error names the program and carries the verifier's log.
@Suite("BPFKit verifier errors", .serialized, .enabled(if: geteuid() == 0 || ProcessInfo.processInfo.environment["NETMON_REQUIRE_BPF_TESTS"] == "1", "requires root"))
struct VerifierErrorTests {
    static let source = """
        // SPDX-License-Identifier: GPL-2.0-only
        #define SEC(name) __attribute__((section(name), used))
        char LICENSE[] SEC("license") = "GPL";
        SEC("tp_btf/netif_receive_skb")
        int reads_past_its_arguments(unsigned long long *ctx) { return (int)ctx[9]; }
        """

    @Test("a rejected program: typed error, program named, verifier log kept")
    func rejected() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bpfkit-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("bad.bpf.c")
        let object = directory.appendingPathComponent("bad.bpf.o")
        try Self.source.write(to: source, atomically: true, encoding: .utf8)
        let clang = Process()
        clang.executableURL = URL(fileURLWithPath: "/bin/sh")
        clang.arguments = ["-c", "$(command -v clang-14 || command -v clang) -g -O2 -target bpf -c \(source.path) -o \(object.path)"]
        try clang.run()
        clang.waitUntilExit()
        try #require(clang.terminationStatus == 0)

        let bytes = try Data(contentsOf: object)
        try bytes.withUnsafeBytes { elf in
            let spec = try BPFObjectSpec(name: "bad", elf: elf)
            var caught: BPFError?
            do {
                _ = try spec.load()
            } catch let error as BPFError {
                caught = error
            }
            let error = try #require(caught)
            #expect(error.code == .loadFailed)
            #expect(error.message.contains("verifier rejected the BPF program 'reads_past_its_arguments' of 'bad'"))
            #expect(error.message.contains("--verbose"))
            #expect(error.log?.contains("invalid bpf_context access") == true, "\(error.log ?? "")")
        }
    }
}
