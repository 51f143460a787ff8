import Glibc

/// Small text files and folders of procfs, sysfs and tracefs, read with plain system calls.
/// (Foundation would do, but it costs netmon ~10 MB of RSS and its ICU data.)
public enum KernelFile {
    /// The whole file as text, or nil when it cannot be read.
    public static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return count == 0 ? String(decoding: bytes, as: UTF8.self) : nil }
            bytes += chunk[..<count]
        }
    }

    /// The file's text without surrounding white space, or nil.
    public static func value(_ path: String) -> String? {
        read(path).map { String($0.split(whereSeparator: \.isWhitespace).joined(separator: " ")) }
    }

    /// The names in a folder (without "." and ".."); empty when it cannot be read.
    public static func list(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
