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

    static func group(_ first: Hook, _ second: Hook) -> VariantGroup {
        VariantGroup("nic.tx", job: "count transmitted packets", variants: [
            ProgramVariant("tp_btf", programs: ["nic_tx_btf"], requires: [KernelRequirement(.hook(first), "\(first) (Linux 5.5+)")]),
            ProgramVariant("raw_tp", programs: ["nic_tx_raw"], requires: [KernelRequirement(.hook(second))]),
        ])
    }

    @Test("a hook this kernel lacks is named, for every variant tried", .enabled(if: access(KernelBTF.path, R_OK) == 0, "requires kernel BTF"))
    func missingHook() throws {
        let spec = try nicSpec()
        let probe = try KernelProbe()
        #expect(probe.has(.hook(.btfTracepoint(category: "net", name: "net_dev_start_xmit"))))
        let error = try #require(throws: BPFError.self) {
            try spec.choose(Self.group(.btfTracepoint(category: "net", name: "no_such_tracepoint"),
                                       .rawTracepoint(category: "net", name: "no_such_tracepoint")), probe: probe)
        }
        #expect(error.code == .unsupportedKernel)
        #expect(error.description == "nic.tx: cannot count transmitted packets on this kernel: it lacks tracepoint net:no_such_tracepoint (Linux 5.5+) for 'tp_btf'; tracepoint net:no_such_tracepoint for 'raw_tp'")
    }

    @Test("the fallback is chosen when the preferred hook is missing", .enabled(if: access(KernelBTF.path, R_OK) == 0, "requires kernel BTF"))
    func fallback() throws {
        let spec = try nicSpec()
        let chosen = try spec.choose(Self.group(.btfTracepoint(category: "net", name: "no_such_tracepoint"),
                                                .rawTracepoint(category: "net", name: "net_dev_start_xmit")),
                                     probe: try KernelProbe())
        #expect(chosen.name == "raw_tp")
    }

    @Test("a forced variant is used even when a better one exists; an unknown one is an error",
          .enabled(if: access(KernelBTF.path, R_OK) == 0, "requires kernel BTF"))
    func forced() throws {
        let spec = try nicSpec()
        let probe = try KernelProbe()
        let group = Self.group(.btfTracepoint(category: "net", name: "net_dev_start_xmit"),
                               .rawTracepoint(category: "net", name: "net_dev_start_xmit"))
        #expect(try spec.choose(group, probe: probe).name == "tp_btf")
        let overrides = try VariantOverrides(parsing: "nic=raw_tp", source: "test")
        #expect(try spec.choose(group, probe: probe, overrides: overrides).name == "raw_tp")
        let unknown = try VariantOverrides(parsing: "nic.tx=kprobe", source: "test")
        let error = try #require(throws: BPFError.self) { try spec.choose(group, probe: probe, overrides: unknown) }
        #expect(error.description == "nic.tx has no variant 'kprobe' (it has: tp_btf, raw_tp)")
    }

    @Test("overrides: the most specific group wins; malformed text is refused")
    func overrides() throws {
        let overrides = try VariantOverrides(parsing: "bytes=kprobe, bytes.recv=fexit", source: "NETMON_FORCE_VARIANT")
        #expect(overrides.forced(for: "bytes.send") == "kprobe")
        #expect(overrides.forced(for: "bytes.recv") == "fexit")
        #expect(overrides.forced(for: "bytesx") == nil)
        #expect(overrides.forced(for: "conn.accept") == nil)
        #expect(overrides.unknownGroups(among: ["bytes.send", "bytes.recv"]).isEmpty)
        #expect(overrides.unknownGroups(among: ["nic.tx", "bytes.recvx"]) == ["bytes.recv"])
        let error = try #require(throws: BPFError.self) { try VariantOverrides(parsing: "bytes", source: "NETMON_FORCE_VARIANT") }
        #expect(error.description == "NETMON_FORCE_VARIANT: 'bytes' is not GROUP=VARIANT (e.g. bytes=kprobe)")
    }

    @Test("probes read tracepoint arguments, members and kfuncs from BTF", .enabled(if: access(KernelBTF.path, R_OK) == 0, "requires kernel BTF"))
    func probes() throws {
        let probe = try KernelProbe()
        let setState = probe.btf.tracepointArguments("inet_sock_set_state")
        let missing = probe.btf.tracepointArguments("no_such_tracepoint")
        #expect(setState == ["struct sock *", "int", "int"])
        #expect(missing == nil)
        #expect(probe.has(.member("skc_family", of: "sock_common")))
        #expect(probe.has(.member("dev", of: "sk_buff")))  // inside anonymous unions and structs
        #expect(!probe.has(.member("no_such_member", of: "sock")))
        #expect(probe.has(.type("sk_buff")) && !probe.has(.type("no_such_type_anywhere")))
        #expect(probe.has(.hook(.iterator(target: "task_file"))))
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
