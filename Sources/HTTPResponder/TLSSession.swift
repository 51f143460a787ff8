import CTLS
import Glibc

/// The TLS side of one accepted connection: a non-blocking OpenSSL session on its socket. Every
/// call says what to poll for when it cannot finish now.
final class TLSSession {
    enum Outcome: Equatable {
        case done
        /// Call again when the socket is readable (POLLIN) or writable (POLLOUT).
        case wants(Int16)
        case closed
        case failed(String)
    }

    private let session: OpaquePointer
    private let allowedSANs: [String]?

    init?(_ context: TLSServerContext, fd: Int32) {
        guard let made = ctls_session_new(context.context, fd) else { return nil }
        session = made
        allowedSANs = context.allowedClientSANs
    }

    deinit { SSL_free(session) }

    /// One step of the server handshake; `.done` once it is complete (and the client certificate,
    /// if `client_allowed_sans` is set, names an allowed SAN).
    func accept() -> Outcome {
        let outcome = Self.outcome(ctls_accept(session))
        guard outcome == .done, let allowedSANs else { return outcome }
        var pointers = allowedSANs.map { strdup($0).map { UnsafePointer($0) } }
        defer { pointers.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
        return ctls_peer_has_san(session, &pointers, pointers.count)
            ? .done : .failed("the client certificate names none of client_allowed_sans")
    }

    /// Reads decrypted bytes into `buffer`; `.done` with the count.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> (Outcome, Int) {
        var count = 0
        let outcome = Self.outcome(ctls_read(session, buffer.baseAddress, buffer.count, &count))
        return (outcome, count)
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> (Outcome, Int) {
        var count = 0
        let outcome = Self.outcome(ctls_write(session, bytes.baseAddress, bytes.count, &count))
        return (outcome, count)
    }

    /// Sends close_notify (best effort; the socket is closed right after).
    func shutdown() { ctls_shutdown(session) }

    private static func outcome(_ status: ctls_status) -> Outcome {
        switch status {
        case CTLS_DONE: .done
        case CTLS_WANT_READ: .wants(Int16(POLLIN))
        case CTLS_WANT_WRITE: .wants(Int16(POLLOUT))
        case CTLS_CLOSED: .closed
        default: .failed(String(cString: ctls_last_error()))
        }
    }
}
