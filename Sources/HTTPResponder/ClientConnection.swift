import Glibc

/// One accepted connection: the bytes of the request being read, or of the response being sent.
/// A connection either reads or writes, never both, so what it holds is bounded by the head limit
/// plus one response. A TLS connection first opens (the handshake).
final class ClientConnection {
    enum Phase { case opening, reading, writing }

    let stream: any ByteStream
    /// The client's address (IPv4-mapped IPv6 as IPv4), for the per-address limit.
    let peer: PeerAddress
    var phase: Phase
    /// Bytes received and not yet handled (a partial head, or the next pipelined request).
    var input: [UInt8] = []
    /// The client half-closed (shutdown(SHUT_WR), `nc -N`): the requests already in `input` are
    /// answered, then the connection closes.
    var inputEnded = false
    var output: [UInt8] = []
    var sent = 0
    var closeWhenSent = false
    /// Monotonic nanoseconds after which the connection is given up.
    var deadline: UInt64
    /// When it last began waiting for a request (accepted, or a response sent): the oldest idle
    /// connection is the first closed when the server is full.
    var idleSince: UInt64

    var fd: Int32 { stream.fd }

    /// Waiting for a request that has not begun (or for a handshake): closing it loses nothing.
    var isIdle: Bool { phase == .opening || (phase == .reading && input.isEmpty) }

    /// The poll(2) events that let this connection go on.
    var pollEvents: Int16 {
        stream.pendingEvents ?? Int16(phase == .writing ? POLLOUT : POLLIN)
    }

    init(stream: any ByteStream, peer: PeerAddress, deadline: UInt64, now: UInt64) {
        self.stream = stream
        phase = stream is SocketStream ? .reading : .opening
        self.peer = peer
        self.deadline = deadline
        idleSince = now
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

    enum ReadResult { case data, wouldBlock, failed }

    /// Reads what the socket has, without taking the input beyond `limit` bytes. The end of the
    /// client's input is not a failure: it sets `inputEnded`, and what came before it still counts.
    func receive(limit: Int) -> ReadResult {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var got = false
        while input.count <= limit, !inputEnded {
            switch buffer.withUnsafeMutableBytes({ stream.read(into: $0) }) {
            case .moved(let count):
                input.append(contentsOf: buffer[0..<count])
                got = true
            case .end:
                inputEnded = true
            case .wouldBlock:
                return got ? .data : .wouldBlock
            case .failed:
                return .failed
            }
        }
        return .data
    }

    enum WriteResult { case done, wouldBlock, failed }

    /// Sends as much of the output as the socket takes now.
    func send() -> WriteResult {
        while sent < output.count {
            let result = output.withUnsafeBytes { bytes in
                stream.write(UnsafeRawBufferPointer(rebasing: bytes[sent...]))
            }
            switch result {
            case .moved(let count): sent += count
            case .wouldBlock: return .wouldBlock
            case .end, .failed: return .failed
            }
        }
        output = []
        sent = 0
        return .done
    }
}
