import CCrypt
import Glibc
import HTTPResponder

/// A bcrypt hash as the toolkit's basic_auth_users hold them ("$2y$10$" and 53 characters of
/// bcrypt's base64), checked with libxcrypt's crypt_rn.
enum BcryptHash {
    static func isWellFormed(_ hash: String) -> Bool {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, bytes[0] == UInt8(ascii: "$"), bytes[1] == UInt8(ascii: "2"),
              [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(bytes[2]),
              bytes[3] == UInt8(ascii: "$"), bytes[6] == UInt8(ascii: "$"),
              let cost = Int(String(decoding: bytes[4...5], as: UTF8.self)), (4...31).contains(cost)
        else { return false }
        return bytes[7...].allSatisfy { byte in
            byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/") || (byte >= 0x30 && byte <= 0x39)
                || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
        }
    }

    static func matches(password: String, hash: String) -> Bool {
        // bcrypt reads at most 72 bytes; Go's bcrypt refuses longer passwords rather than cut them.
        guard password.utf8.count <= 72, !password.utf8.contains(0) else { return false }
        return ccrypt_verify(password, hash) == 1
    }
}

/// The basic_auth_users of a web config: who may scrape. A bcrypt check costs tens of
/// milliseconds, so verdicts are remembered per (user, password) as the toolkit does; an unknown
/// user costs one check against a fixed hash, so that timing does not tell which users exist.
public final class BasicAuthUsers: @unchecked Sendable {
    private let users: [String: String]
    private var verdicts: [String: Bool] = [:]
    private var lock = pthread_mutex_t()
    /// A bcrypt hash of a password no one has (cost 10, like the users' usual hashes).
    private static let decoy = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"
    /// Verdicts kept at most (a client trying passwords cannot grow the memory beyond this).
    private static let remembered = 256

    public init(_ users: [String: String]) {
        self.users = users
        pthread_mutex_init(&lock, nil)
    }

    deinit { pthread_mutex_destroy(&lock) }

    public var isEmpty: Bool { users.isEmpty }

    /// Whether an `Authorization` field value names a user with the right password.
    public func allows(authorization: String?) -> Bool {
        guard let authorization, let (user, password) = Self.credentials(authorization) else { return false }
        let hash = users[user]
        let key = "\(user)\u{0}\(password)"
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if let verdict = verdicts[key] { return verdict }
        let matches = BcryptHash.matches(password: password, hash: hash ?? Self.decoy)
        let verdict = hash != nil && matches
        if verdicts.count >= Self.remembered { verdicts.removeAll() }
        verdicts[key] = verdict
        return verdict
    }

    /// The user and password of `Basic BASE64(user:password)` (the scheme name in any case).
    static func credentials(_ field: String) -> (String, String)? {
        let parts = field.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic", let decoded = Base64.decode(String(parts[1])) else { return nil }
        guard let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return (String(decoding: decoded[..<colon], as: UTF8.self), String(decoding: decoded[(colon + 1)...], as: UTF8.self))
    }
}

/// RFC 4648 base64 with padding (Go's StdEncoding, which the toolkit's BasicAuth reads).
enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard bytes.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        var accumulator: UInt32 = 0
        var bits = 0
        for (index, byte) in bytes.enumerated() {
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - 65)
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - 97 + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - 48 + 52)
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="):
                // Padding only at the end: one or two characters.
                let padding = bytes.count - index
                guard padding <= 2, bytes[index...].allSatisfy({ $0 == UInt8(ascii: "=") }) else { return nil }
                return output
            default: return nil
            }
            accumulator = accumulator << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8((accumulator >> UInt32(bits)) & 0xff))
            }
        }
        return output
    }
}
