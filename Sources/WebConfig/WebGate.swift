import Glibc
import HTTPResponder

/// What a web config asks of every request before the page handler sees it: the rate limit, the
/// basic-auth password (401 with `WWW-Authenticate: Basic` without the right one), and the extra
/// response headers (on every answer, the refusals included).
public final class WebGate: @unchecked Sendable {
    private var users: BasicAuthUsers
    private var headers: [(name: String, value: String)]
    private var bucket: TokenBucket?
    /// The server's thread reads what `replace` (the main thread, on SIGHUP) writes.
    private var lock = pthread_mutex_t()

    public init(_ config: WebConfig) {
        users = BasicAuthUsers(config.users)
        headers = config.headers
        bucket = config.rateLimit.map { TokenBucket($0) }
        pthread_mutex_init(&lock, nil)
    }

    deinit { pthread_mutex_destroy(&lock) }

    /// Applies a re-read web config to the requests that come next.
    public func replace(with config: WebConfig) {
        pthread_mutex_lock(&lock)
        users = BasicAuthUsers(config.users)
        headers = config.headers
        bucket = config.rateLimit.map { TokenBucket($0) }
        pthread_mutex_unlock(&lock)
    }

    /// `handler` behind the gate.
    public func guarding(_ handler: @escaping HTTPServer.Handler) -> HTTPServer.Handler {
        { [self] request in
            pthread_mutex_lock(&lock)
            let users = users, headers = headers
            let limited = bucket?.take() == false
            pthread_mutex_unlock(&lock)
            var response: HTTPResponse
            if limited {
                response = .error(.tooManyRequests, "too many requests")
            } else if !users.isEmpty, !users.allows(authorization: request.header("Authorization")) {
                response = .error(.unauthorized, "a user and password are needed")
                response.headers.append(("WWW-Authenticate", "Basic"))
            } else {
                response = handler(request)
            }
            response.headers += headers
            return response
        }
    }
}
