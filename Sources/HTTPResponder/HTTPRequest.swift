/// A request's head, as parsed from the bytes a client sent (RFC 9112). Bodies are never read:
/// a request that announces one is refused.
public struct HTTPRequest: Equatable, Sendable {
    public let method: String
    /// The path of the origin-form target, without its query.
    public let path: String
    public let query: String?
    /// "HTTP/1.1" or "HTTP/1.0".
    public let version: String
    /// Header fields in the order sent; names as sent (compare with `header(_:)`).
    public let headers: [(name: String, value: String)]

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.path == rhs.path && lhs.query == rhs.query && lhs.version == rhs.version
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }

    /// The value of the first field called `name` (case-insensitive), or nil.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    /// Whether the client keeps the connection open after the response: HTTP/1.1 unless it said
    /// `Connection: close`. HTTP/1.0 connections are always closed (no keep-alive negotiation).
    public var keepsAlive: Bool {
        guard version == "HTTP/1.1" else { return false }
        let options = header("Connection")?.lowercased().split(separator: ",").map { $0.trimmingSpaces } ?? []
        return !options.contains("close")
    }
}

/// Why a request head was refused, with the status it is answered with.
public struct HTTPRequestError: Error, Equatable, Sendable {
    public let status: HTTPStatus
    public let reason: String

    init(_ status: HTTPStatus, _ reason: String) {
        self.status = status
        self.reason = reason
    }
}

extension HTTPRequest {
    /// Parses a complete head: the bytes up to and including the blank line (CRLF CRLF).
    /// Strict: lines end in CRLF, no whitespace before a field's colon, no folded lines, no control
    /// characters, origin-form targets only, HTTP/1.1 requires Host, and no body.
    public init(head: ArraySlice<UInt8>) throws(HTTPRequestError) {
        var lines: [ArraySlice<UInt8>] = []
        var start = head.startIndex
        var index = head.startIndex
        while index < head.endIndex {
            if head[index] == UInt8(ascii: "\n") {
                guard index > start, head[index - 1] == UInt8(ascii: "\r") else {
                    throw HTTPRequestError(.badRequest, "a line does not end in CRLF")
                }
                lines.append(head[start..<(index - 1)])
                start = index + 1
            } else if head[index] == UInt8(ascii: "\r"), index + 1 < head.endIndex,
                      head[index + 1] != UInt8(ascii: "\n") {
                throw HTTPRequestError(.badRequest, "a bare CR")
            }
            index += 1
        }
        guard start == head.endIndex, lines.count >= 2, lines.last!.isEmpty else {
            throw HTTPRequestError(.badRequest, "the head does not end with an empty line")
        }
        lines.removeLast()

        let parts = lines[0].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(Self.isTokenByte) else {
            throw HTTPRequestError(.badRequest, "malformed request line")
        }
        method = String(decoding: parts[0], as: UTF8.self)
        let target = parts[1]
        guard target.first == UInt8(ascii: "/"), target.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw HTTPRequestError(.badRequest, "the request target is not an absolute path")
        }
        let targetText = String(decoding: target, as: UTF8.self)
        if let question = targetText.firstIndex(of: "?") {
            path = String(targetText[..<question])
            query = String(targetText[targetText.index(after: question)...])
        } else {
            path = targetText
            query = nil
        }
        let versionText = String(decoding: parts[2], as: UTF8.self)
        guard versionText.utf8.count == 8, versionText.hasPrefix("HTTP/"),
              versionText.utf8.dropFirst(5).enumerated().allSatisfy({ $0.offset == 1 ? $0.element == UInt8(ascii: ".") : ($0.element >= 0x30 && $0.element <= 0x39) })
        else {
            throw HTTPRequestError(.badRequest, "malformed HTTP version")
        }
        guard versionText == "HTTP/1.1" || versionText == "HTTP/1.0" else {
            throw HTTPRequestError(.versionNotSupported, "only HTTP/1.0 and HTTP/1.1 are spoken")
        }
        version = versionText

        var fields: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                  line[..<colon].allSatisfy(Self.isTokenByte) else {
                throw HTTPRequestError(.badRequest, "malformed header field")
            }
            let value = line[(colon + 1)...]
            guard value.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7f) }) else {
                throw HTTPRequestError(.badRequest, "a control character in a header field")
            }
            fields.append((String(decoding: line[..<colon], as: UTF8.self),
                           String(decoding: value, as: UTF8.self).trimmingSpaces))
        }
        headers = fields

        if version == "HTTP/1.1" {
            let hosts = fields.filter { $0.name.lowercased() == "host" }
            guard hosts.count == 1 else {
                throw HTTPRequestError(.badRequest, "an HTTP/1.1 request needs exactly one Host field")
            }
        }
        if fields.contains(where: { $0.name.lowercased() == "transfer-encoding" })
            || fields.contains(where: { $0.name.lowercased() == "content-length" && $0.value != "0" }) {
            throw HTTPRequestError(.badRequest, "request bodies are not accepted")
        }
    }

    /// tchar of RFC 9110: the characters of methods and field names.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }
}
