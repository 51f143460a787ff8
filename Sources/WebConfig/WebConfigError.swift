/// A web config file netmon cannot use: which file, which key (dotted, as in the file:
/// `tls_server_config.client_auth_type`), and why. Printed as one line.
public struct WebConfigError: Error, Sendable, CustomStringConvertible {
    public let file: String
    /// The key that is wrong, or nil when the file as a whole is (unreadable, not YAML).
    public let key: String?
    public let line: Int?
    public let message: String

    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        return key.map { "\(place): \($0): \(message)" } ?? "\(place): \(message)"
    }
}
