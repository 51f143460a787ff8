import Glibc

/// The bytes under one connection: plain TCP (`SocketStream`) or TLS (`TLSStream`) over the
/// same socket; the server only ever polls `fd` and calls these.
protocol ByteStream: AnyObject {
    /// The socket, for poll(2); closed by the stream when it is released.
    var fd: Int32 { get }
    /// What the stream must see on the socket before its last call can go on, when that is not
    /// the direction the connection is in (a TLS handshake step, a read that must write first).
    var pendingEvents: Int16? { get }
    /// Takes the stream to where it carries requests (a TLS handshake), as far as the socket
    /// allows now.
    func open() -> OpenResult
    /// Reads at most `buffer.count` bytes without blocking.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> StreamResult
    /// Writes at most `bytes.count` bytes without blocking.
    func write(_ bytes: UnsafeRawBufferPointer) -> StreamResult
    /// Says "no more from us" (FIN), so that the peer reads the response to its end before the
    /// socket closes; closing with unread input would reset the connection and lose the response.
    func finishWriting()
}

enum OpenResult: Equatable {
    case ready
    case wouldBlock
    /// The client is refused (a failed handshake, plain HTTP on a TLS port).
    case refused
}

extension ByteStream {
    var pendingEvents: Int16? { nil }
    func open() -> OpenResult { .ready }
}

enum StreamResult: Equatable {
    /// This many bytes moved (never 0).
    case moved(Int)
    case wouldBlock
    /// The peer sent everything it will send (reads only).
    case end
    case failed
}

/// A non-blocking TCP socket.
final class SocketStream: ByteStream {
    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> StreamResult {
        while true {
            let count = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if count > 0 { return .moved(count) }
            if count == 0 { return .end }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .failed
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> StreamResult {
        while true {
            let count = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            if count > 0 { return .moved(count) }
            if count < 0 && errno == EINTR { continue }
            return count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? .wouldBlock : .failed
        }
    }

    func finishWriting() { shutdown(fd, Int32(SHUT_WR)) }
}
