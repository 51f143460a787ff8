import CBPFKit
import Glibc

/// What libbpf prints goes through here: captured, so that an error can carry it (the verifier
/// log arrives this way), and echoed to stderr only when the user asked for verbose output.
public enum LibbpfMessages {
    /// Route libbpf's messages into the capture buffer; `echo` also writes them, debug ones
    /// included, to stderr.
    public static func capture(echo: Bool) {
        cbpfkit_capture_messages(echo)
    }

    /// Installs the capture (without changing `echo`) if nothing did yet, so that libbpf never
    /// writes to stderr on its own.
    static func ensureCaptured() {
        cbpfkit_ensure_capture()
    }

    /// The messages since the last call; empty when there were none.
    static func take() -> String {
        guard let text = cbpfkit_take_messages() else { return "" }
        defer { free(text) }
        return String(cString: text)
    }
}
