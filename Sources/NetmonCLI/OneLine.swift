/// Messages quote what the user typed (an option value, an environment variable): its control
/// characters are shown as escapes, so that an error stays one line and carries no terminal escapes.
public enum OneLine {
    /// `\n`, `\r`, `\t` and `\\x1b`-style escapes for control characters (C0, DEL and C1); the
    /// rest unchanged.
    public static func escaping(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0a: out += "\\n"
            case 0x0d: out += "\\r"
            case 0x09: out += "\\t"
            case 0..<0x20, 0x7f..<0xa0:
                let hex = String(scalar.value, radix: 16)
                out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
