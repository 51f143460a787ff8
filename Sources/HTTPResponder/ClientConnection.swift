import Glibc

/// One accepted connection: the bytes of the request being read, or of the response being sent.
/// A connection either reads or writes, never both, so what it holds is bounded by the head limit
/// plus one response. Over TLS it first completes the handshake; its reads and writes then go
/// through the session.
final class ClientConnection {
    enum Phase { case handshaking, reading, writing }

    let fd: Int32
    let tls: TLSSession?
    var phase: Phase
    /// What the TLS session must see on the socket before the current phase can go on, when that
    /// is not the phase's own direction (a handshake step, a read that must write first).
    var tlsWants: Int16?
    /// Bytes received and not yet handled (a partial head, or the next pipelined request).
    var input: [UInt8] = []
    var output: [UInt8] = []
    var sent = 0
    var closeWhenSent = false
    /// Monotonic nanoseconds after which the connection is given up.
    var deadline: UInt64

    init(fd: Int32, deadline: UInt64, tls: TLSSession? = nil) {
        self.fd = fd
        self.deadline = deadline
        self.tls = tls
        phase = tls == nil ? .reading : .handshaking
    }

    deinit { close(fd) }

    /// The poll(2) events that let this connection go on.
    var pollEvents: Int16 {
        tlsWants ?? Int16(phase == .writing ? POLLOUT : POLLIN)
    }

    enum HandshakeResult { case done, wouldBlock, refused }

    /// Goes on with the TLS handshake. A client that speaks plain HTTP to the TLS port gets one
    /// plain 400 line saying so (as Go's servers answer it) before it is refused.
    func handshake() -> HandshakeResult {
        guard let tls else { return .done }
        if !sawTLSRecord {
            var first: UInt8 = 0
            let count = recv(fd, &first, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return .wouldBlock }
            guard count == 1 else { return .refused }
            guard first == Self.tlsHandshakeRecord else {
                refusePlainHTTP()
                return .refused
            }
            sawTLSRecord = true
        }
        switch tls.accept() {
        case .done:
            tlsWants = nil
            return .done
        case .wants(let events):
            tlsWants = events
            return .wouldBlock
        case .closed, .failed:
            return .refused
        }
    }

    /// The content type of a TLS record that opens a handshake (a ClientHello's first byte).
    private static let tlsHandshakeRecord: UInt8 = 0x16
    private var sawTLSRecord = false

    private func refusePlainHTTP() {
        let answer = Array("HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n".utf8)
        _ = answer.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
        // Read what the client sent, so that the close does not reset the connection and lose the answer.
        var sink = [UInt8](repeating: 0, count: 8192)
        _ = sink.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        shutdown(fd, Int32(SHUT_WR))
    }

    /// After the last response of a connection: close_notify over TLS, then no more sending.
    func endSending() {
        tls?.shutdown()
        shutdown(fd, Int32(SHUT_WR))
    }

    /// The length of the first complete head in `input` (through CRLF CRLF), if there is one.
    /// A head ended by bare LFs counts as complete too, so that the parser can refuse it at once
    /// instead of waiting for a CRLF CRLF that never comes. `from` skips bytes already searched.
    func headLength(searchingFrom from: Int = 0) -> Int? {
        var index = max(from - 3, 0)
        while index + 1 < input.count {
            if input[index] == 10, input[index + 1] == 10 { return index + 2 }
            if index + 3 < input.count, input[index] == 13, input[index + 1] == 10, input[index + 2] == 13,
               input[index + 3] == 10 {
                return index + 4
            }
            index += 1
        }
        return nil
    }

    enum ReadResult { case data, wouldBlock, closed }

    /// Reads what the socket has, without taking the input beyond `limit` bytes.
    func receive(limit: Int) -> ReadResult {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var got = false
        if let tls {
            while input.count <= limit {
                let (outcome, count) = buffer.withUnsafeMutableBytes { tls.read(into: $0) }
                switch outcome {
                case .done:
                    tlsWants = nil
                    input.append(contentsOf: buffer[0..<count])
                    got = true
                case .wants(let events):
                    tlsWants = events == Int16(POLLIN) ? nil : events
                    return got ? .data : .wouldBlock
                case .closed, .failed:
                    return .closed
                }
            }
            return .data
        }
        while input.count <= limit {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                input.append(contentsOf: buffer[0..<count])
                got = true
                continue
            }
            if count == 0 { return .closed }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK { return got ? .data : .wouldBlock }
            return .closed
        }
        return .data
    }

    enum WriteResult { case done, wouldBlock, failed }

    /// Sends as much of the output as the socket takes now.
    func send() -> WriteResult {
        if let tls {
            while sent < output.count {
                let (outcome, count) = output.withUnsafeBytes { tls.write(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
                switch outcome {
                case .done:
                    tlsWants = nil
                    sent += count
                case .wants(let events):
                    tlsWants = events == Int16(POLLOUT) ? nil : events
                    return .wouldBlock
                case .closed, .failed:
                    return .failed
                }
            }
            output = []
            sent = 0
            return .done
        }
        while sent < output.count {
            let count = output.withUnsafeBytes { bytes in
                Glibc.send(fd, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
            if count > 0 {
                sent += count
                continue
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .wouldBlock }
            return .failed
        }
        output = []
        sent = 0
        return .done
    }
}
