import BPFKit
import NetmonCLI
@testable import NetmonJobs
import Testing

@testable import BytesCommand

/// The embedded object has every program and map the Swift side names (no privilege needed).
@Suite("bytes BPF object")
struct BytesObjectTests {
    @Test("programs and maps the command uses exist")
    func names() throws {
        let spec = try EmbeddedObject.open("bytes")
        let named = BytesProgram.parts.flatMap(\.group.programs) + BytesProgram.socketStoragePrograms
        #expect(Set(spec.programNames) == Set(named))
        let maps = Set(spec.mapNames)
        for name in ["bytes_flows_0", "bytes_flows_1", "bytes_generation", "bytes_in_flight", "bytes_dropped",
                     "bytes_sockets", "bytes_sending", "bytes_receiving"] {
            #expect(maps.contains(name), "no map \(name) in \(maps)")
        }
        try spec.setConstant("bytes_config", to: try BytesCommand(parsing: ["-p", "1", "-6"]).config)
    }
}
