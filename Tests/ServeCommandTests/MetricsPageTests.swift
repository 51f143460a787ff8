import HTTPResponder
import NetmonCLI
import NetmonJobs
import Testing
@testable import ServeCommand

/// A source with fixed counters, standing in for a BPF-backed one.
final class FixedSource: MetricSource, @unchecked Sendable {
    let name = "fixed"
    func collect() throws -> [MetricFamily] {
        [MetricFamily("netmon_fixed", .counter, help: "fixed", samples: [Sample([Label("k", "v")], UInt64(7))])]
    }
    func lostEvents() -> UInt64 { 3 }
}

@Suite("serve: metrics page and comm labels")
struct MetricsPageTests {
    func request(_ path: String, accept: String? = nil) throws -> HTTPRequest {
        let head = "GET \(path) HTTP/1.1\r\nHost: x\r\n" + (accept.map { "Accept: \($0)\r\n" } ?? "") + "\r\n"
        return try HTTPRequest(head: ArraySlice(head.utf8))
    }

    @Test("/metrics in the negotiated format with every source, lost events and build info; / links to it; 404 elsewhere")
    func routes() throws {
        let page = MetricsPage(diagnostics: Diagnostics())
        page.install(sources: [FixedSource()], comms: CommLabels())
        let text = page.respond(to: try request("/metrics"))
        #expect(text.status == .ok && text.contentType == Exposition.textContentType)
        let body = String(decoding: text.body, as: UTF8.self)
        #expect(body.contains("netmon_fixed_total{k=\"v\"} 7\n"))
        #expect(body.contains("netmon_lost_events_total{source=\"fixed\"} 3\n"))
        #expect(body.contains("netmon_comm_folded_total{family=\"4\"} 0\n"))
        #expect(body.contains("netmon_build_info{version=\"\(Router.version)\"} 1\n"))
        #expect(body.contains("\nprocess_resident_memory_bytes "))
        let openMetrics = page.respond(to: try request("/metrics?x", accept: "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"))
        #expect(openMetrics.contentType == Exposition.openMetricsContentType)
        #expect(String(decoding: openMetrics.body, as: UTF8.self).hasSuffix("# EOF\n"))
        let index = page.respond(to: try request("/"))
        #expect(String(decoding: index.body, as: UTF8.self).contains("<a href=\"/metrics\">"))
        #expect(page.respond(to: try request("/metricsx")).status == .notFound)
    }

    @Test("comm labels: the first N names per family keep theirs, later ones fold into other, counted once each")
    func commCap() {
        let comms = CommLabels(limit: 2)
        #expect(comms.label("a", family: 4) == "a")
        #expect(comms.label("b", family: 4) == "b")
        #expect(comms.label("c", family: 4) == "other")
        #expect(comms.label("c", family: 4) == "other")
        #expect(comms.label("d", family: 4) == "other")
        #expect(comms.label("a", family: 4) == "a")
        #expect(comms.label("c", family: 6) == "c", "each family has its own cap")
        #expect(comms.family().samples == [Sample([Label("family", "4")], UInt64(2)), Sample([Label("family", "6")], UInt64(0))])
    }
}
