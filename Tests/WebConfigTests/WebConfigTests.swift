import HTTPResponder
import Testing
@testable import WebConfig

@Suite("web config file")
struct WebConfigTests {
    func parse(_ text: String) throws -> WebConfig {
        try WebConfig(yaml: text, file: "/etc/netmon/web.yml", directory: "/etc/netmon")
    }

    func failure(_ text: String) -> WebConfigError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error as? WebConfigError
        }
    }

    @Test("every exporter-toolkit key is read; relative paths are relative to the file's folder")
    func everyKey() throws {
        let config = try parse("""
            tls_server_config:
              cert_file: tls/server.crt
              key_file: /keys/server.key
              client_auth_type: "VerifyClientCertIfGiven"
              client_ca_file: ca.crt
              min_version: TLS13
              max_version: TLS13
              cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
              curve_preferences: [X25519, CurveP256]
              prefer_server_cipher_suites: no
            http_server_config:
              http2: false
              headers:
                Strict-Transport-Security: max-age=31536000
                X-Frame-Options: sameorigin
            basic_auth_users:
              alice: $2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi
            rate_limit:
              burst: 5
              interval: 1m30s
            """)
        let tls = try #require(config.tls)
        #expect(tls.certificate == .file("/etc/netmon/tls/server.crt"))
        #expect(tls.key == .file("/keys/server.key"))
        #expect(tls.clientCAs == .file("/etc/netmon/ca.crt"))
        #expect(tls.clientAuth == .verifyClientCertIfGiven)
        #expect(tls.minVersion == .tls13 && tls.maxVersion == .tls13)
        #expect(tls.cipherSuites == ["ECDHE-RSA-AES128-GCM-SHA256"], "TLS 1.3 suites are ignored, as Go ignores them")
        #expect(tls.groups == ["X25519", "P-256"])
        #expect(!tls.preferServerCipherSuites)
        #expect(config.headers.map(\.name) == ["Strict-Transport-Security", "X-Frame-Options"])
        #expect(config.users.keys.sorted() == ["alice"])
        #expect(config.rateLimit == WebConfig.RateLimit(burst: 5, interval: 90))
    }

    @Test("an empty file, and sections left empty, configure nothing")
    func empty() throws {
        for text in ["", "tls_server_config:\nbasic_auth_users:\n", "# nothing\n"] {
            let config = try parse(text)
            #expect(config.tls == nil && config.users.isEmpty && config.headers.isEmpty)
        }
    }

    @Test("errors name the dotted key and the line", arguments: [
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Maybe\n", "tls_server_config.client_auth_type", 4),
        ("tls_server_config:\n  key_file: b\n", "tls_server_config.cert_file", 2),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n", "tls_server_config.client_auth_type", 2),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_MADE_UP]\n", "tls_server_config.cipher_suites", 4),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans: [x]\n", "tls_server_config.client_allowed_sans", 4),
        ("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12\n", "tls_server_config.min_version", 4),
        ("basic_auth_users:\n  bob: '$1$abc$def'\n", "basic_auth_users.bob", 2),
        ("basic_auth_users:\n  bob:\n", "basic_auth_users.bob", 2),
        ("http_server_config:\n  headers:\n    X-Frame-Options: allow\n", "http_server_config.headers.X-Frame-Options", 3),
        ("http_server_config:\n  headers:\n    Set-Cookie: a\n", "http_server_config.headers.Set-Cookie", 3),
        ("http_server_config:\n  http2: maybe\n", "http_server_config.http2", 2),
        ("rate_limit:\n  interval: soon\n", "rate_limit.interval", 2),
        ("basic_auth_users:\n  a: $2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n  a: $2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi\n", "basic_auth_users.a", 3),
        ("tls_server_config: [a]\n", "tls_server_config", 1),
        ("tls_config:\n  cert_file: a\n", "tls_config", 2),
    ])
    func errors(text: String, key: String, line: Int) {
        let error = failure(text)
        #expect(error?.key == key, "\(String(describing: error))")
        #expect(error?.line == line, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("/etc/netmon/web.yml:\(line): \(key): ") == true)
    }

    @Test("text that is not YAML is an error with its line")
    func notYAML() {
        let error = failure("a: b\nc: [\n")
        #expect(error?.key == nil && error?.line != nil)
    }
}

@Suite("basic auth")
struct BasicAuthTests {
    // Made by Python's bcrypt (bcrypt.hashpw(b"secret", bcrypt.gensalt(10))), not by this code.
    static let secretHash = "$2b$10$pNMQFpkHl7mBxiv5Xl47/OQ/JbFF.LUIsYGXKMURBLYhg.wx9cfpG"
    // The exporter-toolkit's decoy hash, documented as bcrypt("fakepassword"), in $2y$ form.
    static let fakepassword = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"

    static func basic(_ text: String) -> String {
        "Basic " + base64(Array(text.utf8))
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var index = 0
        while index < bytes.count {
            let chunk = Array(bytes[index..<min(index + 3, bytes.count)])
            let value = chunk.enumerated().reduce(0) { $0 | Int($1.element) << (16 - 8 * $1.offset) }
            for position in 0..<4 {
                out.append(position <= chunk.count ? alphabet[(value >> (18 - 6 * position)) & 63] : "=")
            }
            index += 3
        }
        return out
    }

    @Test("libxcrypt verifies bcrypt hashes made elsewhere, $2b$ and $2y$")
    func bcrypt() {
        #expect(BcryptHash.matches(password: "secret", hash: Self.secretHash))
        #expect(!BcryptHash.matches(password: "secret!", hash: Self.secretHash))
        #expect(BcryptHash.matches(password: "fakepassword", hash: Self.fakepassword))
        #expect(!BcryptHash.matches(password: "", hash: Self.fakepassword))
        #expect(BcryptHash.isWellFormed(Self.secretHash) && BcryptHash.isWellFormed(Self.fakepassword))
        #expect(!BcryptHash.isWellFormed("$2y$03$" + String(Self.fakepassword.dropFirst(7))))
    }

    @Test("Authorization fields: only a known user with the right password passes")
    func authorization() {
        let users = BasicAuthUsers(["alice": Self.secretHash])
        #expect(users.allows(authorization: Self.basic("alice:secret")))
        #expect(users.allows(authorization: "basic " + Self.base64(Array("alice:secret".utf8))))
        #expect(users.allows(authorization: Self.basic("alice:secret")), "a remembered verdict")
        #expect(!users.allows(authorization: Self.basic("alice:wrong")))
        #expect(!users.allows(authorization: Self.basic("bob:secret")))
        #expect(!users.allows(authorization: Self.basic("alice")))
        #expect(!users.allows(authorization: "Bearer abc"))
        #expect(!users.allows(authorization: "Basic !!!!"))
        #expect(!users.allows(authorization: nil))
    }

    @Test("base64 as Go's StdEncoding reads it")
    func base64() {
        #expect(Base64.decode("YWxpY2U6czNjcmV0") == Array("alice:s3cret".utf8))
        #expect(Base64.decode("YQ==") == [97])
        #expect(Base64.decode("YQ=") == nil)
        #expect(Base64.decode("Y=Q=") == nil)
    }

    @Test("the gate: 401 with WWW-Authenticate, headers on every answer, 429 past the rate limit")
    func gate() throws {
        let config = try WebConfig(yaml: """
            basic_auth_users:
              alice: \(Self.secretHash)
            http_server_config:
              headers:
                X-Content-Type-Options: nosniff
            rate_limit:
              burst: 2
              interval: 1h
            """, file: "web.yml", directory: ".")
        let gate = WebGate(config)
        let handler = gate.guarding { _ in HTTPResponse(text: "ok") }
        func request(_ authorization: String?) throws -> HTTPResponse {
            var head = "GET /metrics HTTP/1.1\r\nHost: x\r\n"
            if let authorization { head += "Authorization: \(authorization)\r\n" }
            return handler(try HTTPRequest(head: ArraySlice(Array((head + "\r\n").utf8))))
        }
        let refused = try request(nil)
        #expect(refused.status == .unauthorized)
        #expect(refused.headers.contains { $0.name == "WWW-Authenticate" && $0.value == "Basic" })
        #expect(refused.headers.contains { $0.name == "X-Content-Type-Options" })
        let admitted = try request(Self.basic("alice:secret"))
        #expect(admitted.status == .ok && admitted.headers.contains { $0.name == "X-Content-Type-Options" })
        #expect(try request(Self.basic("alice:secret")).status == .tooManyRequests)
    }
}
