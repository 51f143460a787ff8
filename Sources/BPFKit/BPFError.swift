import Glibc

/// Everything that can go wrong between opening a BPF object and reading its maps.
///
/// `description` is one sentence for the user; `log` keeps what libbpf said (for a verifier
/// rejection, the verifier's log) for those who ask to see it.
public struct BPFError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable, Equatable {
        /// Neither root nor CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN).
        case insufficientPrivilege
        /// No kernel BTF, so CO-RE relocation and BTF-typed tracepoints are impossible.
        case kernelBTFMissing
        /// None of a hook's attach points exists on this kernel.
        case hookMissing
        /// The kernel lacks a feature (named in the message) that the caller needs.
        case unsupportedKernel
        case openFailed
        /// The kernel refused a program; `log` holds the verifier's log when it gave one.
        case loadFailed
        case attachFailed
        /// A program, map or global variable the caller named is not in the object.
        case notFound
        case mapOperationFailed
        case ringBufferFailed
    }

    public let code: Code
    public let message: String
    /// The errno of the failing call, where there was one.
    public let errno: Int32?
    /// libbpf's own messages about the failure (the verifier log, for a rejected program).
    public let log: String?

    public init(_ code: Code, _ message: String, errno: Int32? = nil, log: String? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
        self.log = log.flatMap { $0.isEmpty ? nil : $0 }
    }

    public var description: String {
        guard let errno else { return message }
        return "\(message): \(String(cString: strerror(errno)))"
    }

    /// An error for a failed libbpf call, with errno taken from a negative return or `errno`.
    static func failed(_ code: Code, _ message: String, result: Int32 = -1) -> BPFError {
        let number = result < -1 ? -result : Glibc.errno
        return BPFError(code, message, errno: number, log: LibbpfMessages.take())
    }
}
