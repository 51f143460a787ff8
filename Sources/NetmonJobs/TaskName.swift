/// Process names (`comm`, the `char[16]` the kernel fills) as every netmon command shows them:
/// tables, JSON, and serve's `comm` label all get the same text from `text(_:)`.
public enum TaskName {
    /// A NUL-terminated char array (an imported `char comm[16]`) as text. A process may name
    /// itself anything but NUL (prctl PR_SET_NAME), so control characters (C0, DEL, C1) and bytes
    /// that are not UTF-8 show as '?': a name can neither break a row, a line or a label nor carry
    /// terminal escapes. The result is never longer than the kernel's 15 bytes.
    public static func text<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { bytes in
            sanitized(bytes.prefix { $0 != 0 })
        }
    }

    /// The rule of `text(_:)` for bytes already cut at the NUL.
    public static func sanitized<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var scalars = String.UnicodeScalarView()
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                let value = scalar.value
                scalars.append(value < 0x20 || (0x7f..<0xa0).contains(value) ? "?" : scalar)
            case .error:
                scalars.append("?")
            case .emptyInput:
                return String(scalars)
            }
        }
    }
}
