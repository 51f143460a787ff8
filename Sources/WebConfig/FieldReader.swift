import HTTPResponder

/// Reads the sections of a web config file into typed values, failing with the dotted key of the
/// first wrong one.
struct FieldReader {
    let file: String
    let directory: String

    func fail(_ key: String?, _ node: YAMLNode?, _ message: String) -> WebConfigError {
        WebConfigError(file: file, key: key, line: node?.line, message: message)
    }

    private func join(_ path: String?, _ key: String) -> String { path.map { "\($0).\(key)" } ?? key }

    /// Calls `field` with each key of a mapping (nothing for a null node); `field` returns false
    /// for a key it does not know, which is an error, as is a key given twice.
    func mapping(_ node: YAMLNode, at path: String?,
                 _ field: (String, YAMLNode) throws(WebConfigError) -> Bool) throws(WebConfigError) {
        switch node {
        case .null:
            return
        case .mapping(let pairs, _):
            var seen = Set<String>()
            for (key, value) in pairs {
                guard seen.insert(key).inserted else { throw fail(join(path, key), value, "given twice") }
                guard try field(key, value) else { throw fail(join(path, key), value, "unknown key") }
            }
        default:
            throw fail(path, node, "expected a mapping, found \(node.kind)")
        }
    }

    func string(_ node: YAMLNode, _ key: String) throws(WebConfigError) -> String? {
        switch node {
        case .null: return nil
        case .scalar(let text, _): return text
        default: throw fail(key, node, "expected a string, found \(node.kind)")
        }
    }

    func bool(_ node: YAMLNode, _ key: String) throws(WebConfigError) -> Bool? {
        guard let text = try string(node, key) else { return nil }
        // YAML 1.1's booleans, as the toolkit's YAML library reads them.
        switch text {
        case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y": return true
        case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N": return false
        default: throw fail(key, node, "expected true or false, found '\(text)'")
        }
    }

    func strings(_ node: YAMLNode, _ key: String) throws(WebConfigError) -> [String]? {
        switch node {
        case .null: return nil
        case .sequence(let items, _):
            var result: [String] = []
            for item in items {
                guard case .scalar(let text, _) = item else { throw fail(key, item, "expected a list of strings") }
                result.append(text)
            }
            return result
        default: throw fail(key, node, "expected a list, found \(node.kind)")
        }
    }

    /// A path relative to the config file's folder, as the toolkit resolves it.
    func path(_ text: String) -> String { text.hasPrefix("/") ? text : "\(directory)/\(text)" }

    // MARK: sections

    func users(_ node: YAMLNode) throws(WebConfigError) -> [String: String] {
        var users: [String: String] = [:]
        try mapping(node, at: "basic_auth_users") { user, value throws(WebConfigError) in
            let key = "basic_auth_users.\(user)"
            guard let hash = try string(value, key) else { throw fail(key, value, "no password hash") }
            guard BcryptHash.isWellFormed(hash) else {
                throw fail(key, value, "not a bcrypt hash ($2y$, $2b$ or $2a$, cost 4 to 31, 53 more characters)")
            }
            users[user] = hash
            return true
        }
        return users
    }

    func httpServerConfig(_ node: YAMLNode) throws(WebConfigError) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        try mapping(node, at: "http_server_config") { key, value throws(WebConfigError) in
            switch key {
            case "http2":
                _ = try bool(value, "http_server_config.http2")  // netmon speaks HTTP/1.1 only
            case "headers":
                try mapping(value, at: "http_server_config.headers") { name, field throws(WebConfigError) in
                    let key = "http_server_config.headers.\(name)"
                    guard let allowed = WebConfig.allowedHeaders[name] else {
                        throw fail(key, field, "this header cannot be configured (allowed: \(WebConfig.allowedHeaders.keys.sorted().joined(separator: ", ")))")
                    }
                    let text = try string(field, key) ?? ""
                    if let allowed, !allowed.contains(text) {
                        throw fail(key, field, "'\(text)' is not one of \(allowed.joined(separator: ", "))")
                    }
                    guard text.unicodeScalars.allSatisfy({ $0 == "\t" || ($0.value >= 0x20 && $0.value != 0x7f) }) else {
                        throw fail(key, field, "a control character in the value")
                    }
                    headers.append((name, text))
                    return true
                }
            default:
                return false
            }
            return true
        }
        return headers
    }

    func rateLimit(_ node: YAMLNode) throws(WebConfigError) -> WebConfig.RateLimit? {
        var burst = 0
        var interval = 0.0
        try mapping(node, at: "rate_limit") { key, value throws(WebConfigError) in
            let dotted = "rate_limit.\(key)"
            switch key {
            case "burst":
                guard let text = try string(value, dotted), let number = Int(text), number >= 0 else {
                    throw fail(dotted, value, "expected a whole number")
                }
                burst = number
            case "interval":
                guard let text = try string(value, dotted), let seconds = GoDuration.seconds(text) else {
                    throw fail(dotted, value, "expected a duration such as 1s or 500ms")
                }
                interval = seconds
            default:
                return false
            }
            return true
        }
        return interval > 0 ? WebConfig.RateLimit(burst: burst, interval: interval) : nil
    }

    func tlsServerConfig(_ node: YAMLNode) throws(WebConfigError) -> TLSSettings? {
        let section = "tls_server_config"
        var certFile, certPEM, keyFile, keyPEM, caFile, caPEM, authName: String?
        var minVersion = TLSSettings.Version.tls12, maxVersion = TLSSettings.Version.tls13
        var ciphers: [String] = [], groups: [String] = []
        var preferServer = true
        var allowedSANs: [String]?
        var lines: [String: YAMLNode] = [:]
        try mapping(node, at: section) { key, value throws(WebConfigError) in
            let dotted = "\(section).\(key)"
            lines[key] = value
            switch key {
            case "cert_file": certFile = try string(value, dotted)
            case "cert": certPEM = try string(value, dotted)
            case "key_file": keyFile = try string(value, dotted)
            case "key": keyPEM = try string(value, dotted)
            case "client_ca_file": caFile = try string(value, dotted)
            case "client_ca": caPEM = try string(value, dotted)
            case "client_auth_type": authName = try string(value, dotted)
            case "min_version", "max_version":
                guard let name = try string(value, dotted) else { break }
                guard let version = TLSSettings.Version(rawValue: name) else {
                    throw fail(dotted, value, "unknown TLS version '\(name)' (one of \(TLSSettings.Version.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                if key == "min_version" { minVersion = version } else { maxVersion = version }
            case "cipher_suites":
                for name in try strings(value, dotted) ?? [] {
                    // Go ignores TLS 1.3 suites here (they are not configurable); so does netmon.
                    if Self.tls13Suites.contains(name) { continue }
                    guard let openSSL = TLSServerContext.openSSLCipherName(name) else {
                        throw fail(dotted, value, "unknown cipher suite '\(name)'")
                    }
                    ciphers.append(openSSL)
                }
            case "curve_preferences":
                for name in try strings(value, dotted) ?? [] {
                    guard let group = Self.curves[name] else {
                        throw fail(dotted, value, "unknown curve '\(name)' (one of \(Self.curves.keys.sorted().joined(separator: ", ")))")
                    }
                    groups.append(group)
                }
            case "prefer_server_cipher_suites": preferServer = try bool(value, dotted) ?? true
            case "client_allowed_sans": allowedSANs = try strings(value, dotted)
            default: return false
            }
            return true
        }
        let clientAuth: TLSSettings.ClientAuth
        switch authName {
        case nil, "": clientAuth = .noClientCert
        case "RequireClientCert": clientAuth = .requireAnyClientCert  // the toolkit's old name
        case let name?:
            guard let known = TLSSettings.ClientAuth(rawValue: name) else {
                throw fail("\(section).client_auth_type", lines["client_auth_type"],
                           "unknown value '\(name)' (one of \(TLSSettings.ClientAuth.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            clientAuth = known
        }
        let enabled = [certFile, certPEM, keyFile, keyPEM, caFile, caPEM, authName].contains { !($0 ?? "").isEmpty }
        guard enabled else { return nil }
        func source(_ file: String?, _ pem: String?, _ fileKey: String, _ pemKey: String) throws(WebConfigError) -> TLSSettings.Source? {
            if let file, !file.isEmpty {
                if let pem, !pem.isEmpty { throw fail("\(section).\(pemKey)", lines[pemKey], "give \(fileKey) or \(pemKey), not both") }
                return .file(path(file))
            }
            return pem.flatMap { $0.isEmpty ? nil : .pem($0) }
        }
        guard let certificate = try source(certFile, certPEM, "cert_file", "cert") else {
            throw fail("\(section).cert_file", node, "missing (TLS needs cert_file or cert)")
        }
        guard let key = try source(keyFile, keyPEM, "key_file", "key") else {
            throw fail("\(section).key_file", node, "missing (TLS needs key_file or key)")
        }
        let cas = try source(caFile, caPEM, "client_ca_file", "client_ca")
        if cas != nil, clientAuth == .noClientCert {
            throw fail("\(section).client_auth_type", lines["client_auth_type"] ?? node,
                       "client CAs are configured, but no client certificate is asked for (NoClientCert)")
        }
        if allowedSANs != nil, clientAuth != .requireAnyClientCert, clientAuth != .requireAndVerifyClientCert {
            throw fail("\(section).client_allowed_sans", lines["client_allowed_sans"],
                       "needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert")
        }
        if minVersion > maxVersion {
            throw fail("\(section).min_version", lines["min_version"], "above max_version (\(maxVersion.rawValue))")
        }
        return TLSSettings(certificate: certificate, key: key, clientCAs: cas, clientAuth: clientAuth,
                           minVersion: minVersion, maxVersion: maxVersion, cipherSuites: ciphers, groups: groups,
                           preferServerCipherSuites: preferServer, allowedClientSANs: allowedSANs)
    }

    static let tls13Suites: Set<String> = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
    /// Go's curve names → OpenSSL's group names.
    static let curves = ["CurveP256": "P-256", "CurveP384": "P-384", "CurveP521": "P-521", "X25519": "X25519"]
}
