/// Process names (`comm`, the `char[16]` the kernel fills) as netmon prints them.
public enum TaskName {
    /// A NUL-terminated char array (an imported `char comm[16]`) as text; bytes that are not UTF-8
    /// become U+FFFD.
    public static func text<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// For tables: a process may name itself anything but NUL (prctl PR_SET_NAME), so control
    /// characters print as '?' and a name can neither break a row nor carry terminal escapes.
    public static func printable(_ name: String) -> String {
        String(String.UnicodeScalarView(name.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : $0 }))
    }
}
