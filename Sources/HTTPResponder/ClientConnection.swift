import Glibc

/// One accepted connection: the bytes of the request being read, or of the response being sent.
/// A connection either reads or writes, never both, so what it holds is bounded by the head limit
/// plus one response.
final class ClientConnection {
    enum Phase { case reading, writing }

    let fd: Int32
    var phase = Phase.reading
    /// Bytes received and not yet handled (a partial head, or the next pipelined request).
    var input: [UInt8] = []
    var output: [UInt8] = []
    var sent = 0
    var closeWhenSent = false
    /// Monotonic nanoseconds after which the connection is given up.
    var deadline: UInt64

    init(fd: Int32, deadline: UInt64) {
        self.fd = fd
        self.deadline = deadline
    }

    deinit { close(fd) }

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
