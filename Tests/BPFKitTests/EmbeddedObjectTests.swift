import BPFKit
import CNetmonBPF
import Foundation
import Testing

/// Opening needs no privilege: these check, for every embedded object, what the Swift code relies
/// on by name — the check bpf2go's generated constants give Go code.
@Suite("Embedded BPF objects")
struct EmbeddedObjectTests {
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    func open(_ name: String) throws -> BPFObjectSpec {
        let object = try #require(netmon_bpf_object_named(name))
        return try BPFObjectSpec(name: name, elf: UnsafeRawBufferPointer(start: object.pointee.bytes, count: object.pointee.size))
    }

    @Test("every BPFPrograms/*.bpf.c is embedded, and opens")
    func everyProgramEmbedded() throws {
        let sources = try FileManager.default.contentsOfDirectory(atPath: Self.packageRoot.appendingPathComponent("BPFPrograms").path)
            .filter { $0.hasSuffix(".bpf.c") }.map { String($0.dropLast(".bpf.c".count)) }.sorted()
        let embedded = (0..<netmon_bpf_object_total()).map { String(cString: netmon_bpf_object_at($0)!.pointee.name) }.sorted()
        #expect(embedded == sources)
        for name in embedded {
            _ = try open(name)
        }
    }

    @Test("the embedded objects were built from the current sources")
    func notStale() throws {
        let process = Process()
        process.executableURL = Self.packageRoot.appendingPathComponent("Scripts/embed-bpf")
        process.arguments = ["--digest"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let current = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        process.waitUntilExit()
        #expect(current == String(cString: netmon_bpf_digest()), "rebuild with Scripts/build")
    }

    @Test("nic: the programs, maps and constant NicCommand uses")
    func nic() throws {
        let spec = try open("nic")
        #expect(Set(spec.programNames) == ["nic_tx_btf", "nic_rx_btf", "nic_tx_raw", "nic_rx_raw"])
        #expect(Set(spec.mapNames).isSuperset(of: ["nic_tx_queues", "nic_rx_queues"]))
        try spec.setConstant("nic_config", to: nic_config())
        #expect(throws: BPFError.self) { try spec.setConstant("nic_config", to: UInt8(0)) }
        #expect(throws: BPFError.self) { try spec.setConstant("no_such_constant", to: UInt32(0)) }
        #expect(throws: BPFError.self) { try spec.setAutoload(false, program: "no_such_program") }
    }
}
