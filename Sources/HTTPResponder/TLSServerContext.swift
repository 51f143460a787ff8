import CTLS

/// Why TLS settings could not be turned into a server context: the settings field that failed
/// ("cert_file", "key_file", …) and OpenSSL's reason.
public struct TLSContextError: Error, Sendable {
    public let field: String
    public let message: String
}

/// An OpenSSL server context built from `TLSSettings`: certificate and key loaded and matched,
/// versions, suites and client verification set. One serves every connection of a server.
public final class TLSServerContext: @unchecked Sendable {
    let context: OpaquePointer
    let allowedClientSANs: [String]?

    public init(_ settings: TLSSettings) throws(TLSContextError) {
        var failedField: UnsafePointer<CChar>?
        var message = [CChar](repeating: 0, count: 512)
        let made: OpaquePointer? = Self.withCStrings(settings) { raw in
            var c = ctls_server_settings()
            c.cert_file = raw.certFile
            c.cert_pem = raw.certPEM
            c.key_file = raw.keyFile
            c.key_pem = raw.keyPEM
            c.client_ca_file = raw.caFile
            c.client_ca_pem = raw.caPEM
            c.client_auth = ctls_client_auth(UInt32(TLSSettings.ClientAuth.allCases.firstIndex(of: settings.clientAuth)!))
            c.min_version = settings.minVersion.openSSL
            c.max_version = settings.maxVersion.openSSL
            c.cipher_list = raw.ciphers
            c.groups = raw.groups
            c.prefer_server_ciphers = settings.preferServerCipherSuites
            return ctls_server_context_new(&c, &failedField, &message, message.count)
        }
        guard let made else {
            throw TLSContextError(field: failedField.map { String(cString: $0) } ?? "tls_server_config",
                                  message: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        context = made
        allowedClientSANs = settings.allowedClientSANs
    }

    deinit { SSL_CTX_free(context) }

    /// The OpenSSL name of an IANA cipher suite name, if this OpenSSL knows the suite.
    public static func openSSLCipherName(_ ianaName: String) -> String? {
        ctls_openssl_cipher_name(ianaName).map { String(cString: $0) }
    }

    private struct RawSettings {
        var certFile, certPEM, keyFile, keyPEM, caFile, caPEM, ciphers, groups: UnsafePointer<CChar>?
    }

    /// Calls `body` with C strings of the settings that live until it returns.
    private static func withCStrings<T>(_ settings: TLSSettings, _ body: (RawSettings) -> T) -> T {
        var owned: [UnsafeMutablePointer<CChar>] = []
        defer { owned.forEach { free($0) } }
        func c(_ text: String?) -> UnsafePointer<CChar>? {
            guard let text, let copy = strdup(text) else { return nil }
            owned.append(copy)
            return UnsafePointer(copy)
        }
        func file(_ source: TLSSettings.Source?) -> UnsafePointer<CChar>? {
            if case .file(let path) = source { return c(path) }
            return nil
        }
        func pem(_ source: TLSSettings.Source?) -> UnsafePointer<CChar>? {
            if case .pem(let text) = source { return c(text) }
            return nil
        }
        let raw = RawSettings(
            certFile: file(settings.certificate), certPEM: pem(settings.certificate),
            keyFile: file(settings.key), keyPEM: pem(settings.key),
            caFile: file(settings.clientCAs), caPEM: pem(settings.clientCAs),
            ciphers: settings.cipherSuites.isEmpty ? nil : c(settings.cipherSuites.joined(separator: ":")),
            groups: settings.groups.isEmpty ? nil : c(settings.groups.joined(separator: ":")))
        return body(raw)
    }
}
