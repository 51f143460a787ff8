import Testing
@testable import HTTPResponder

@Suite("HTTP parsing")
struct ParsingTests {
    @Test("listen addresses: IPv4, [IPv6], :PORT; errors name the problem")
    func listenAddresses() throws {
        #expect(try ListenAddress(parsing: "127.0.0.1:10393") == ListenAddress(host: .ipv4("127.0.0.1"), port: 10393))
        #expect(try ListenAddress(parsing: "[::1]:80") == ListenAddress(host: .ipv6("::1"), port: 80))
        #expect(try ListenAddress(parsing: ":0") == ListenAddress(host: .any, port: 0))
        #expect(try ListenAddress(parsing: "[fe80::1]:9").description == "[fe80::1]:9")
        for (text, message) in [
            ("10393", "'10393' has no port: use ADDR:PORT, [IPv6]:PORT or :PORT"),
            ("1.2.3.4:65536", "invalid port '65536' in '1.2.3.4:65536': a number from 0 to 65535"),
            ("1.2.3.4:", "invalid port '' in '1.2.3.4:': a number from 0 to 65535"),
            ("::1:80", "an IPv6 address needs brackets: '[::1]:80'"),
            ("[::1:80", "invalid IPv6 address '[::1' in '[::1:80'"),
            ("localhost:80", "invalid IPv4 address 'localhost' in 'localhost:80' (host names are not looked up)"),
            ("[1.2.3.4]:80", "invalid IPv6 address '1.2.3.4' in '[1.2.3.4]:80'"),
        ] {
            #expect(throws: ListenAddressError(message)) { try ListenAddress(parsing: text) }
        }
    }

    @Test("a request head: method, path, query, fields; keep-alive by version and Connection")
    func requestHead() throws {
        let request = try HTTPRequest(head: ArraySlice("GET /metrics?a=b HTTP/1.1\r\nHost: x\r\nAccept:  text/plain \r\n\r\n".utf8))
        #expect(request.method == "GET" && request.path == "/metrics" && request.query == "a=b")
        #expect(request.header("accept") == "text/plain")
        #expect(request.keepsAlive)
        let closing = try HTTPRequest(head: ArraySlice("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Close\r\n\r\n".utf8))
        #expect(!closing.keepsAlive)
        let old = try HTTPRequest(head: ArraySlice("GET / HTTP/1.0\r\n\r\n".utf8))
        #expect(!old.keepsAlive)
    }

    // What Prometheus 2.42 and 3.x send, curl's default, and none.
    static let prometheus2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    static let prometheus3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
    static let offers = ["text/plain", "application/openmetrics-text"]

    @Test("content negotiation: OpenMetrics when asked for above text, else the classic text format")
    func negotiation() {
        #expect(MediaTypeNegotiation.preferred(Self.offers, accept: Self.prometheus2) == "application/openmetrics-text")
        #expect(MediaTypeNegotiation.preferred(Self.offers, accept: Self.prometheus3) == "application/openmetrics-text")
        #expect(MediaTypeNegotiation.preferred(Self.offers, accept: "*/*") == "text/plain")
        #expect(MediaTypeNegotiation.preferred(Self.offers, accept: nil) == "text/plain")
        #expect(MediaTypeNegotiation.preferred(Self.offers, accept: "text/plain;version=0.0.4") == "text/plain")
        #expect(MediaTypeNegotiation.preferred(Self.offers, accept: "application/openmetrics-text") == "application/openmetrics-text")
        #expect(MediaTypeNegotiation.preferred(Self.offers, accept: "text/*;q=0.2, application/*;q=0.9") == "application/openmetrics-text")
        #expect(MediaTypeNegotiation.preferred(Self.offers, accept: "image/png") == nil)
        #expect(MediaTypeNegotiation.preferred(Self.offers, accept: "text/plain;q=0, */*") == "application/openmetrics-text")
    }
}
