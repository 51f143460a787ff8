import Foundation

/// Certificates and password hashes for the web-config tests, made with the real tools in a
/// temporary folder: a CA (`ca.crt`), a server certificate for 127.0.0.1 signed by it, a client
/// certificate signed by it (`client.crt`, SAN DNS:scraper.test), and a self-signed client
/// certificate no CA vouches for (`rogue.crt`). Hashes come from Python's bcrypt, not netmon's code.
struct TestPKI {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "netmon-pki-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try sh("""
            set -e
            cd \(directory)
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=netmon-test-ca 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext
            openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext 2>/dev/null
            openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=scraper 2>/dev/null
            printf 'subjectAltName=DNS:scraper.test\\n' > client.ext
            openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 -extfile client.ext 2>/dev/null
            openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.crt -days 2 -subj /CN=rogue 2>/dev/null
            chmod 644 *.key
            """)
    }

    func path(_ name: String) -> String { "\(directory)/\(name)" }

    /// A bcrypt hash of `password` ($2b$, cost 10) from Python's bcrypt module (python3-bcrypt).
    static func bcrypt(_ password: String) throws -> String {
        try sh("/usr/bin/python3 -c 'import bcrypt, sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(rounds=10)).decode())' '\(password)'")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Writes a web config file into the folder and returns its path.
    func webConfig(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// One HTTPS request by curl: the status (0 when no HTTP answer came), the response head, and
/// curl's exit code.
struct CurlResult {
    let status: Int
    let head: String
    let exitCode: Int32

    func header(_ name: String) -> String? {
        head.split(separator: "\r\n").first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
            .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
    }

    /// `curl ARGS URL` (inside `namespace`), without failing on HTTP errors.
    static func run(_ arguments: String, _ url: String, namespace: String) throws -> CurlResult {
        let marker = "#status="  // not "@…": curl reads -w @FILE from a file
        let output = try sh("ip netns exec \(namespace) curl -s --http1.1 --max-time 10 -D - -o /dev/null -w '\(marker)%{http_code}' \(arguments) \(url); echo \" $?\"")
        let parts = output.components(separatedBy: marker)
        let tail = (parts.last ?? "").split(separator: " ")
        return CurlResult(status: Int(tail.first ?? "") ?? 0, head: parts.first ?? "",
                          exitCode: Int32(tail.last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1)
    }
}
