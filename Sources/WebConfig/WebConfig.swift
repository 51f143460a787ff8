import Glibc
import HTTPResponder

/// The exporter-toolkit web configuration (the file node_exporter, Prometheus and the official
/// exporters take with --web.config.file): TLS, bcrypt basic-auth users, extra response headers,
/// a request rate limit. Read strictly, as the toolkit reads it: an unknown or repeated key, a
/// value of the wrong type or an unknown name is an error naming the key.
public struct WebConfig: Sendable {
    /// Set when the file configures TLS; relative paths are already resolved against the file's folder.
    public var tls: TLSSettings?
    /// User name → bcrypt hash ($2a$, $2b$ or $2y$).
    public var users: [String: String]
    /// Added to every response (only the fields the toolkit allows).
    public var headers: [(name: String, value: String)]
    public var rateLimit: RateLimit?

    /// At most `burst` requests at once, refilled at one per `interval` (golang.org/x/time/rate).
    public struct RateLimit: Sendable, Equatable {
        public var burst: Int
        public var interval: Double
    }

    /// The response fields a web config may add, and the values allowed where the toolkit
    /// restricts them (nil: any value).
    static let allowedHeaders: [String: [String]?] = [
        "Strict-Transport-Security": nil,
        "X-Content-Type-Options": ["nosniff"],
        "X-Frame-Options": ["deny", "sameorigin"],
        "X-XSS-Protection": nil,
        "Content-Security-Policy": nil,
    ]

    /// Reads and checks `path`.
    public static func load(file path: String) throws(WebConfigError) -> WebConfig {
        guard let text = readText(path) else {
            throw WebConfigError(file: path, key: nil, line: nil, message: "cannot read it: \(String(cString: strerror(errno)))")
        }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]).isEmpty ? "/" : String(path[..<$0]) } ?? "."
        return try WebConfig(yaml: text, file: path, directory: directory)
    }

    /// Parses the text of a web config file called `file`, whose relative paths are relative to `directory`.
    public init(yaml text: String, file: String, directory: String) throws(WebConfigError) {
        let root: YAMLNode
        do {
            root = try YAMLNode.load(text)
        } catch {
            throw WebConfigError(file: file, key: nil, line: error.line, message: "not YAML: \(error.message)")
        }
        let reader = FieldReader(file: file, directory: directory)
        tls = nil
        users = [:]
        headers = []
        rateLimit = nil
        var tlsNode: YAMLNode?
        try reader.mapping(root, at: nil) { key, value throws(WebConfigError) in
            switch key {
            case "tls_server_config": tlsNode = value
            case "http_server_config": headers = try reader.httpServerConfig(value)
            case "basic_auth_users": users = try reader.users(value)
            case "rate_limit": rateLimit = try reader.rateLimit(value)
            default: return false
            }
            return true
        }
        if let tlsNode { tls = try reader.tlsServerConfig(tlsNode) }
    }

    /// The OpenSSL context for `tls`, with the certificate and key loaded (nil without TLS).
    public func makeTLSContext(file: String) throws(WebConfigError) -> TLSServerContext? {
        guard let tls else { return nil }
        // A missing or unreadable file said plainly (OpenSSL's own message names neither).
        let files: [(String, TLSSettings.Source?)] = [("cert_file", tls.certificate), ("key_file", tls.key), ("client_ca_file", tls.clientCAs)]
        for (key, source) in files {
            if case .file(let path)? = source, access(path, R_OK) != 0 {
                throw WebConfigError(file: file, key: "tls_server_config.\(key)", line: nil,
                                     message: "cannot read \(path): \(String(cString: strerror(errno)))")
            }
        }
        do {
            return try TLSServerContext(tls)
        } catch {
            throw WebConfigError(file: file, key: "tls_server_config.\(error.field)", line: nil, message: error.message)
        }
    }

    private static func readText(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count > 0 { bytes += buffer[0..<count] }
            if count < buffer.count { break }
            if bytes.count > 1 << 20 { errno = EFBIG; return nil }
        }
        if ferror(file) != 0 { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
