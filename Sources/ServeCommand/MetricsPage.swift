import HTTPResponder
import NetmonCLI
import NetmonJobs

/// What the HTTP server answers: /metrics in the format the client prefers, a small index page
/// at /, and 404 elsewhere.
final class MetricsPage: @unchecked Sendable {
    private let diagnostics: Diagnostics
    private let lock = Lock()
    private var sources: [any MetricSource] = []
    private var series = ProcessSeries()
    private var failedBefore = false

    init(diagnostics: Diagnostics) {
        self.diagnostics = diagnostics
    }

    /// Sets what /metrics shows; called once, before the server's thread starts.
    func install(sources: [any MetricSource], series: ProcessSeries) {
        lock.withLock {
            self.sources = sources
            self.series = series
        }
    }

    /// Drains the sources' ring buffers (main thread). Sources lock their own state.
    func poll() throws {
        for source in lock.withLock({ sources }) { try source.poll() }
    }

    func respond(to request: HTTPRequest) -> HTTPResponse {
        switch request.path {
        case "/metrics":
            let chosen = MediaTypeNegotiation.preferred(["text/plain", "application/openmetrics-text"],
                                                        accept: request.header("Accept"))
            let format: Exposition = chosen == "application/openmetrics-text" ? .openMetrics : .text
            return HTTPResponse(contentType: format.contentType, text: format.render(families()))
        case "/":
            return HTTPResponse(contentType: "text/html; charset=utf-8", text: Self.index)
        default:
            return HTTPResponse(status: .notFound, text: "404 Not Found: netmon serves /metrics\n")
        }
    }

    /// Every family, in a fixed order; a source that fails to read says so once on stderr and is
    /// left out of that scrape.
    func families() -> [MetricFamily] {
        lock.withLock {
            var families: [MetricFamily] = []
            var lost = MetricFamily("netmon_lost_events", .counter,
                                    help: "What the kernel could not count, by source: packets (nic) and transfers (bytes) that found a map full, drops while a drop program was already running on that CPU (inerrs); 0 for conn")
            for source in sources {
                do {
                    families += try source.collect()
                } catch {
                    if !failedBefore { diagnostics.line("netmon: cannot read the \(source.name) counters: \(error)") }
                    failedBefore = true
                }
                lost.samples.append(Sample([Label("source", source.name)], source.lostEvents()))
            }
            return families + [series.foldedFamily(), lost] + ProcessMetrics.collect()
        }
    }

    static let index = """
        <!DOCTYPE html>
        <html><head><title>netmon</title></head>
        <body><h1>netmon \(Router.version)</h1><p><a href="/metrics">Metrics</a></p></body></html>

        """
}
