import Glibc

/// A small, strict HTTP/1.1 server for GET and HEAD: one thread, poll(2), non-blocking sockets.
///
/// Every connection is bounded in what it may hold (`Limits.headBytes` of request head; bodies
/// are refused) and how long it may take (`requestTimeout` to send a request or take a response,
/// `idleTimeout` between requests of a kept-alive connection). Connection slots cannot be held by
/// idle or slow clients: one client address has at most `maxPerAddress` connections and the
/// server `maxConnections`; beyond either, the oldest connection of that address (or of all)
/// that is not sending a response is closed to make room, idle ones first. Only when every
/// connection is sending does a newcomer get a 503. The handler runs on the server's thread, one
/// request at a time.
public final class HTTPServer: @unchecked Sendable {
    public struct Limits: Sendable {
        public var headBytes: Int
        public var requestTimeout: Double
        public var idleTimeout: Double
        public var maxConnections: Int
        public var maxPerAddress: Int

        public init(headBytes: Int = 8192, requestTimeout: Double = 5, idleTimeout: Double = 15,
                    maxConnections: Int = 256, maxPerAddress: Int = 64) {
            self.headBytes = headBytes
            self.requestTimeout = requestTimeout
            self.idleTimeout = idleTimeout
            self.maxConnections = maxConnections
            self.maxPerAddress = maxPerAddress
        }
    }

    public typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    /// The address actually bound (with the kernel's port when 0 was asked for).
    public let address: ListenAddress
    private let limits: Limits
    private let handler: Handler
    /// Set for HTTPS: every accepted connection starts with a TLS handshake. Replaced (under
    /// `tlsLock`) when the web config is read again; connections keep the context they began with.
    private var tls: TLSServerContext?
    private var tlsLock = pthread_mutex_t()
    private let listener: Int32
    /// stop() writes to wakeWrite; the loop polls wakeRead.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private var connections: [ClientConnection] = []
    /// Out of descriptors with nothing to close: the listener is left alone until then (monotonic
    /// ns) rather than polled readable in a busy loop.
    private var acceptPausedUntil: UInt64 = 0
    private var thread: pthread_t?

    public init(listening requested: ListenAddress, limits: Limits = Limits(), tls: TLSServerContext? = nil,
                handler: @escaping Handler) throws(HTTPServerError) {
        self.limits = limits
        self.handler = handler
        self.tls = tls
        pthread_mutex_init(&tlsLock, nil)
        let bound = try ListeningSocket.open(requested)
        listener = bound.fd
        address = bound.address
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else {
            let error = errno
            close(listener)
            throw HTTPServerError("cannot create the server's wake-up pipe", errno: error)
        }
        wakeRead = pipeFDs[0]
        wakeWrite = pipeFDs[1]
        for fd in pipeFDs { Self.makeNonBlocking(fd) }
    }

    deinit {
        pthread_mutex_destroy(&tlsLock)
        connections.removeAll()
        close(listener)
        close(wakeRead)
        close(wakeWrite)
    }

    /// Serves on a thread of its own (with every signal blocked, so that signals reach the caller's
    /// threads) until `stop()`.
    public func start() throws(HTTPServerError) {
        let box = Unmanaged.passRetained(self).toOpaque()
        var made = pthread_t()
        let result = pthread_create(&made, nil, { context in
            let server = Unmanaged<HTTPServer>.fromOpaque(context!).takeRetainedValue()
            var all = sigset_t()
            sigfillset(&all)
            pthread_sigmask(SIG_BLOCK, &all, nil)
            server.run()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<HTTPServer>.fromOpaque(box).release()
            throw HTTPServerError("cannot start the server thread", errno: result)
        }
        thread = made
    }

    /// Whether connections start with a TLS handshake.
    public var usesTLS: Bool { currentTLS() != nil }

    /// New connections use `context` from now on (a re-read certificate, other client CAs). A
    /// server started without TLS stays without it.
    public func replaceTLSContext(_ context: TLSServerContext) {
        pthread_mutex_lock(&tlsLock)
        if tls != nil { tls = context }
        pthread_mutex_unlock(&tlsLock)
    }

    private func currentTLS() -> TLSServerContext? {
        pthread_mutex_lock(&tlsLock)
        defer { pthread_mutex_unlock(&tlsLock) }
        return tls
    }

    /// Ends `run()` (from any thread) and, when the server runs on its own thread, waits for it.
    public func stop() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        if let thread {
            pthread_join(thread, nil)
            self.thread = nil
        }
    }

    /// Serves on the calling thread until `stop()` is called from another.
    public func run() {
        while true {
            let accepting = Clock.now >= acceptPausedUntil
            var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener, events: accepting ? Int16(POLLIN) : 0, revents: 0)]
            for connection in connections {
                let events = connection.pollEvents
                fds.append(pollfd(fd: connection.fd, events: Int16(events), revents: 0))
            }
            let ready = poll(&fds, nfds_t(fds.count), accepting ? pollTimeout() : min(pollTimeout().clampedWait, 100))
            if ready < 0 && errno != EINTR { return }
            if fds[0].revents != 0 { return }
            let now = Clock.now
            var gone = Set<Int32>()
            for (index, polled) in fds.enumerated().dropFirst(2) where polled.revents != 0 {
                let connection = connections[index - 2]
                if !serve(connection, now: now) { gone.insert(connection.fd) }
            }
            for connection in connections where !gone.contains(connection.fd) && connection.deadline <= now {
                if connection.phase == .reading && !connection.input.isEmpty {
                    // Half a request: say why it ends (the time to send it is the request timeout).
                    respond(connection, .error(.requestTimeout, "the request took too long"), headOnly: false, close: true)
                    connection.deadline = now + Clock.nanoseconds(limits.requestTimeout)
                    if finishWriting(connection, now: now) { continue }
                }
                gone.insert(connection.fd)
            }
            if !gone.isEmpty { connections.removeAll { gone.contains($0.fd) } }
            if fds[1].revents != 0 { acceptAll(now: now) }
        }
    }

    /// O_NONBLOCK and FD_CLOEXEC (Glibc's module lacks accept4 and pipe2).
    static func makeNonBlocking(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }

    private func pollTimeout() -> Int32 {
        guard let next = connections.map(\.deadline).min() else { return -1 }
        let now = Clock.now
        return next <= now ? 0 : Int32(min((next - now + 999_999) / 1_000_000, 60_000))
    }

    private func acceptAll(now: UInt64) {
        let tls = currentTLS()
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &length) }
            }
            if fd < 0 {
                if errno == EINTR { continue }
                // Out of descriptors: free one (the oldest idle connection) and take the newcomer.
                if errno == EMFILE || errno == ENFILE {
                    if evict(from: nil) { continue }
                    acceptPausedUntil = now + 100_000_000
                }
                return  // EAGAIN, or a connection that failed before we took it
            }
            Self.makeNonBlocking(fd)
            let stream: any ByteStream
            if let tls {
                guard let made = TLSStream(fd: fd, context: tls) else {
                    close(fd)
                    continue
                }
                stream = made
            } else {
                stream = SocketStream(fd: fd)
            }
            let connection = ClientConnection(stream: stream, peer: PeerAddress(storage),
                                              deadline: now + Clock.nanoseconds(limits.requestTimeout), now: now)
            let fromPeer = connections.count(where: { $0.peer == connection.peer })
            let room = (fromPeer < limits.maxPerAddress || evict(from: connection.peer))
                && (connections.count < limits.maxConnections || evict(from: nil))
            guard room else {
                connection.output = HTTPResponse.error(.serviceUnavailable, "too many connections")
                    .serialized(headOnly: false, close: true)
                // Best effort; the connection closes either way (a TLS client could not read it yet).
                if connection.phase != .opening { _ = connection.send() }
                continue
            }
            connections.append(connection)
        }
    }

    /// Closes the connection of `peer` (of anyone, when nil) that is the cheapest to lose: an idle
    /// one before one with half a request, the one waiting longest first; never one that is being
    /// answered. False when there is none.
    private func evict(from peer: PeerAddress?) -> Bool {
        let candidates = connections.indices.filter {
            connections[$0].phase != .writing && (peer == nil || connections[$0].peer == peer)
        }
        guard let victim = candidates.min(by: { a, b in
            let (x, y) = (connections[a], connections[b])
            return x.isIdle != y.isIdle ? x.isIdle : x.idleSince < y.idleSince
        }) else { return false }
        connections.remove(at: victim)
        return true
    }

    /// Handles a ready connection; false when it is finished and must be closed.
    private func serve(_ connection: ClientConnection, now: UInt64) -> Bool {
        switch connection.phase {
        case .opening:
            switch connection.stream.open() {
            case .ready:
                connection.phase = .reading
                return serve(connection, now: now)  // the request may have come with the handshake
            case .wouldBlock:
                return true
            case .refused:
                return false
            }
        case .reading:
            let searched = connection.input.count
            if connection.receive(limit: limits.headBytes) == .failed { return false }
            if connection.input.count > searched, searched == 0 {
                connection.deadline = now + Clock.nanoseconds(limits.requestTimeout)  // a request began
            }
            return handleInput(connection, searchedFrom: searched, now: now)
        case .writing:
            return finishWriting(connection, now: now)
        }
    }

    /// Answers the complete request at the front of the input, if there is one.
    /// A client that half-closed gets the answers to the requests it completed; then, or when
    /// what it sent ends in the middle of a request, the connection closes.
    private func handleInput(_ connection: ClientConnection, searchedFrom: Int, now: UInt64) -> Bool {
        guard let length = connection.headLength(searchingFrom: searchedFrom), length <= limits.headBytes else {
            if connection.input.count > limits.headBytes {
                respond(connection, .error(.headerFieldsTooLarge, "the request head exceeds \(limits.headBytes) bytes"),
                        headOnly: false, close: true)
                connection.input = []
                return finishWriting(connection, now: now)
            }
            return !connection.inputEnded
        }
        let head = connection.input[0..<length]
        connection.input.removeFirst(length)
        let request: HTTPRequest
        do {
            request = try HTTPRequest(head: head)
        } catch {
            respond(connection, .error(error.status, error.reason), headOnly: false, close: true)
            return finishWriting(connection, now: now)
        }
        // After a half-close only the requests already received can be answered.
        let close = !request.keepsAlive || (connection.inputEnded && connection.headLength() == nil)
        if request.method == "GET" || request.method == "HEAD" {
            respond(connection, handler(request), headOnly: request.method == "HEAD", close: close)
        } else {
            var refusal = HTTPResponse.error(.methodNotAllowed, "only GET and HEAD")
            refusal.headers.append(("Allow", "GET, HEAD"))
            respond(connection, refusal, headOnly: false, close: close)
        }
        connection.deadline = now + Clock.nanoseconds(limits.requestTimeout)
        return finishWriting(connection, now: now)
    }

    private func respond(_ connection: ClientConnection, _ response: HTTPResponse, headOnly: Bool, close: Bool) {
        connection.output = response.serialized(headOnly: headOnly, close: close)
        connection.sent = 0
        connection.closeWhenSent = close
        connection.phase = .writing
    }

    private func finishWriting(_ connection: ClientConnection, now: UInt64) -> Bool {
        switch connection.send() {
        case .wouldBlock:
            return true
        case .failed:
            return false
        case .done:
            if connection.closeWhenSent {
                connection.stream.finishWriting()
                return false
            }
            connection.phase = .reading
            connection.idleSince = now
            connection.deadline = now + Clock.nanoseconds(connection.input.isEmpty ? limits.idleTimeout : limits.requestTimeout)
            // A pipelined request may already be waiting.
            return connection.input.isEmpty ? !connection.inputEnded : handleInput(connection, searchedFrom: 0, now: now)
        }
    }
}

extension Int32 {
    /// A poll timeout with "forever" (-1) as the largest value.
    var clampedWait: Int32 { self < 0 ? .max : self }
}

/// CLOCK_MONOTONIC in nanoseconds.
enum Clock {
    static var now: UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    static func nanoseconds(_ seconds: Double) -> UInt64 { UInt64(max(seconds, 0) * 1e9) }
}
