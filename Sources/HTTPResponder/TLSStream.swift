import CTLS
import Glibc

/// A TLS connection over an accepted socket: a non-blocking OpenSSL server session. It opens with
/// the handshake (in steps, as the socket allows), then reads and writes decrypted bytes. When
/// OpenSSL must see the other direction first (a handshake step, a read that must write), it
/// says so in `pendingEvents`, and the server polls for that.
final class TLSStream: ByteStream {
    let fd: Int32
    private let session: OpaquePointer
    private let allowedSANs: [String]?
    private(set) var pendingEvents: Int16?
    private var sawTLSRecord = false

    /// The content type of a TLS record that opens a handshake (a ClientHello's first byte).
    private static let handshakeRecord: UInt8 = 0x16

    init?(fd: Int32, context: TLSServerContext) {
        guard let made = ctls_session_new(context.context, fd) else { return nil }
        self.fd = fd
        session = made
        allowedSANs = context.allowedClientSANs
    }

    deinit {
        SSL_free(session)
        close(fd)
    }

    /// One step of the handshake. A client speaking plain HTTP to the TLS port gets the one
    /// plain line Go's servers answer it with before it is refused; a client certificate that
    /// names none of `client_allowed_sans` is refused once the handshake is done.
    func open() -> OpenResult {
        if !sawTLSRecord {
            var first: UInt8 = 0
            let count = recv(fd, &first, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return .wouldBlock }
            guard count == 1 else { return .refused }
            guard first == Self.handshakeRecord else {
                refusePlainHTTP()
                return .refused
            }
            sawTLSRecord = true
        }
        switch Self.outcome(ctls_accept(session)) {
        case .done:
            pendingEvents = nil
            guard let allowedSANs else { return .ready }
            var names = allowedSANs.map { strdup($0).map { UnsafePointer($0) } }
            defer { names.forEach { free(UnsafeMutablePointer(mutating: $0)) } }
            return ctls_peer_has_san(session, &names, names.count) ? .ready : .refused
        case .wants(let events):
            pendingEvents = events
            return .wouldBlock
        case .end, .failed:
            return .refused
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> StreamResult {
        var count = 0
        switch Self.outcome(ctls_read(session, buffer.baseAddress, buffer.count, &count)) {
        case .done:
            pendingEvents = nil
            return .moved(count)
        case .wants(let events):
            pendingEvents = events == Int16(POLLIN) ? nil : events
            return .wouldBlock
        case .end:
            return .end
        case .failed:
            return .failed
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> StreamResult {
        var count = 0
        switch Self.outcome(ctls_write(session, bytes.baseAddress, bytes.count, &count)) {
        case .done:
            pendingEvents = nil
            return .moved(count)
        case .wants(let events):
            pendingEvents = events == Int16(POLLOUT) ? nil : events
            return .wouldBlock
        case .end, .failed:
            return .failed
        }
    }

    /// close_notify (best effort), then FIN.
    func finishWriting() {
        ctls_shutdown(session)
        shutdown(fd, Int32(SHUT_WR))
    }

    private func refusePlainHTTP() {
        let answer = Array("HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n".utf8)
        _ = answer.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        // Read what the client sent, so that the close does not reset the connection and lose the answer.
        var sink = [UInt8](repeating: 0, count: 8192)
        _ = sink.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        shutdown(fd, Int32(SHUT_WR))
    }

    private enum Outcome {
        case done, wants(Int16), end, failed
    }

    private static func outcome(_ status: ctls_status) -> Outcome {
        switch status {
        case CTLS_DONE: .done
        case CTLS_WANT_READ: .wants(Int16(POLLIN))
        case CTLS_WANT_WRITE: .wants(Int16(POLLOUT))
        case CTLS_CLOSED: .end
        default: .failed
        }
    }
}
