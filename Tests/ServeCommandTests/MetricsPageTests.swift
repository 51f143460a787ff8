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
        page.install(sources: [FixedSource()], series: ProcessSeries())
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

    @Test("comm labels: the first N names per family keep theirs, later ones fold into the overflow label, counted once each")
    func commCap() {
        let series = ProcessSeries(limit: 2)
        #expect(series.label("a", family: 4) == "a")
        #expect(series.label("b", family: 4) == "b")
        #expect(series.label("c", family: 4) == "(other processes)")
        #expect(series.label("c", family: 4) == "(other processes)")
        #expect(series.label("d", family: 4) == "(other processes)")
        #expect(series.label("a", family: 4) == "a")
        #expect(series.label("c", family: 6) == "c", "each family has its own cap")
        #expect(series.foldedFamily().samples == [Sample([Label("family", "4")], UInt64(2)), Sample([Label("family", "6")], UInt64(0))])
    }

    @Test("a process named other is a name like any other; the overflow label is longer than any comm")
    func overflowCannotBeClaimed() {
        let series = ProcessSeries(limit: 1)
        #expect(series.label("other", family: 4) == "other")
        #expect(series.label("x", family: 4) == ProcessSeries.overflow)
        #expect(ProcessSeries.overflow.utf8.count > 15)
    }

    @Test("counts the kernel could not name go under the overflow label, take no slot and fold no name")
    func unnamedCounts() {
        let series = ProcessSeries(limit: 1)
        series.add(.connections, direction: "connect", family: 4, comm: nil, amount: 5)
        series.add(.connections, direction: "connect", family: 4, comm: "a")
        let samples = series.family(.connections, "x", help: "").samples
        #expect(samples == [Sample([Label("direction", "connect"), Label("family", "4"), Label("comm", "(other processes)")], UInt64(5)),
                            Sample([Label("direction", "connect"), Label("family", "4"), Label("comm", "a")], UInt64(1))])
        #expect(series.foldedFamily().samples == [Sample([Label("family", "4")], UInt64(0)), Sample([Label("family", "6")], UInt64(0))])
    }

    @Test("idle names expire after the TTL with their series; counters never go backwards before")
    func expiry() {
        let second: UInt64 = 1_000_000_000
        let series = ProcessSeries(limit: 2, ttl: 10)
        series.add(.connections, direction: "connect", family: 4, comm: "a", now: 1 * second)
        series.add(.bytes, direction: "tx", family: 4, comm: "a", amount: 100, now: 1 * second)
        series.add(.connections, direction: "connect", family: 4, comm: "b", now: 2 * second)
        series.add(.connections, direction: "connect", family: 4, comm: "c", now: 3 * second)  // folded
        series.add(.connections, direction: "connect", family: 4, comm: "b", now: 9 * second)
        func values(_ metric: ProcessSeries.Metric, at now: UInt64) -> [String: UInt64] {
            var out: [String: UInt64] = [:]
            for sample in series.family(metric, "x", help: "", now: now).samples {
                if case .integer(let value) = sample.value { out[sample.labels[2].value] = value }
            }
            return out
        }
        #expect(values(.connections, at: 10 * second) == ["a": 1, "b": 2, ProcessSeries.overflow: 1])
        // a idle for more than 10 s: gone from both metrics, and its slot is free for c.
        #expect(values(.connections, at: 12 * second) == ["b": 2, ProcessSeries.overflow: 1])
        #expect(values(.bytes, at: 12 * second) == [:])
        series.add(.connections, direction: "connect", family: 4, comm: "c", now: 13 * second)
        #expect(values(.connections, at: 13 * second) == ["b": 2, "c": 1, ProcessSeries.overflow: 1])
        // A returning name starts again from 0.
        series.add(.connections, direction: "connect", family: 4, comm: "b", now: 30 * second)
        #expect(values(.connections, at: 30 * second)["b"] == 1)
    }
}
