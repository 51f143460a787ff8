import Glibc

/// The statuses this responder sends.
public enum HTTPStatus: Int, Sendable {
    case ok = 200
    case badRequest = 400
    case unauthorized = 401
    case notFound = 404
    case methodNotAllowed = 405
    case requestTimeout = 408
    case tooManyRequests = 429
    case headerFieldsTooLarge = 431
    case serviceUnavailable = 503
    case versionNotSupported = 505

    public var reason: String {
        switch self {
        case .ok: "OK"
        case .badRequest: "Bad Request"
        case .unauthorized: "Unauthorized"
        case .tooManyRequests: "Too Many Requests"
        case .notFound: "Not Found"
        case .methodNotAllowed: "Method Not Allowed"
        case .requestTimeout: "Request Timeout"
        case .headerFieldsTooLarge: "Request Header Fields Too Large"
        case .serviceUnavailable: "Service Unavailable"
        case .versionNotSupported: "HTTP Version Not Supported"
        }
    }
}

/// What a handler answers. Content-Length, Date and Connection are added when it is sent.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var contentType: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: HTTPStatus = .ok, contentType: String = "text/plain; charset=utf-8",
                headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    public init(status: HTTPStatus = .ok, contentType: String = "text/plain; charset=utf-8",
                headers: [(name: String, value: String)] = [], text: String) {
        self.init(status: status, contentType: contentType, headers: headers, body: Array(text.utf8))
    }

    /// A short plain-text error page.
    public static func error(_ status: HTTPStatus, _ detail: String) -> HTTPResponse {
        HTTPResponse(status: status, text: "\(status.rawValue) \(status.reason): \(detail)\n")
    }

    /// The bytes on the wire. A HEAD response has the GET response's headers and no body.
    func serialized(headOnly: Bool, close: Bool) -> [UInt8] {
        var head = "HTTP/1.1 \(status.rawValue) \(status.reason)\r\n"
        head += "Date: \(Self.httpDate())\r\n"
        head += "Content-Type: \(contentType)\r\n"
        head += "Content-Length: \(body.count)\r\n"
        for field in headers { head += "\(field.name): \(field.value)\r\n" }
        if close { head += "Connection: close\r\n" }
        head += "\r\n"
        return headOnly ? Array(head.utf8) : Array(head.utf8) + body
    }

    /// The current time as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
    static func httpDate() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
