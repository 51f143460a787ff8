import BPFKit
import Testing
import NetmonCLI
@testable import NetmonJobs
@testable import ConnCommand

@Suite("conn BPF object")
struct ConnObjectTests {
    @Test("the embedded object has every program and map the Swift side names")
    func names() throws {
        let spec = try EmbeddedObject.open("conn")
        #expect(Set(spec.programNames) == Set(ConnProgram.programNames))
        for map in ["conn_events", "lost_events", "conn_owners"] {
            #expect(spec.mapNames.contains(map), "missing map \(map)")
        }
    }

    @Test("the configuration constant has the shared header's size")
    func config() throws {
        let spec = try EmbeddedObject.open("conn")
        try spec.setConstant("conn_config", to: ConnFilter(localPorts: [1, 2]).config)
    }
}
