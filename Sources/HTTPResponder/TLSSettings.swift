/// What a TLS server presents and asks of its clients: the exporter-toolkit's `tls_server_config`,
/// with names already turned into OpenSSL's.
public struct TLSSettings: Sendable, Equatable {
    /// Where a certificate, key or CA list comes from: a file, or PEM text given inline.
    public enum Source: Sendable, Equatable {
        case file(String)
        case pem(String)
    }

    /// Whether clients must show a certificate, and whether it is checked against the client CAs
    /// (Go's tls.ClientAuthType, which the exporter-toolkit names).
    public enum ClientAuth: String, Sendable, CaseIterable {
        case noClientCert = "NoClientCert"
        case requestClientCert = "RequestClientCert"
        case requireAnyClientCert = "RequireAnyClientCert"
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"
    }

    /// The protocol versions, by exporter-toolkit name and OpenSSL number.
    public enum Version: String, Sendable, CaseIterable, Comparable {
        case tls10 = "TLS10", tls11 = "TLS11", tls12 = "TLS12", tls13 = "TLS13"

        var openSSL: Int32 {
            switch self {
            case .tls10: 0x0301
            case .tls11: 0x0302
            case .tls12: 0x0303
            case .tls13: 0x0304
            }
        }

        public static func < (lhs: Version, rhs: Version) -> Bool { lhs.openSSL < rhs.openSSL }
    }

    public var certificate: Source
    public var key: Source
    public var clientCAs: Source?
    public var clientAuth: ClientAuth
    public var minVersion: Version
    public var maxVersion: Version
    /// OpenSSL names of the TLS 1.2-and-older suites allowed, best first; empty for OpenSSL's default.
    public var cipherSuites: [String]
    /// OpenSSL group names ("X25519", "P-256"); empty for OpenSSL's default.
    public var groups: [String]
    public var preferServerCipherSuites: Bool
    /// When set, a client certificate must name one of these among its subject alternative names.
    public var allowedClientSANs: [String]?

    public init(certificate: Source, key: Source, clientCAs: Source? = nil, clientAuth: ClientAuth = .noClientCert,
                minVersion: Version = .tls12, maxVersion: Version = .tls13, cipherSuites: [String] = [],
                groups: [String] = [], preferServerCipherSuites: Bool = true, allowedClientSANs: [String]? = nil) {
        self.certificate = certificate
        self.key = key
        self.clientCAs = clientCAs
        self.clientAuth = clientAuth
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.cipherSuites = cipherSuites
        self.groups = groups
        self.preferServerCipherSuites = preferServerCipherSuites
        self.allowedClientSANs = allowedClientSANs
    }
}
