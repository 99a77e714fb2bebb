import Glibc

/// Reads a configuration file's bytes, turning any failure into a problem that names the file and the errno.
enum ConfigFile {
    /// Larger files are refused: a configuration is a few kilobytes, and a path like /dev/zero must not
    /// fill memory.
    static let maxSize = 1 << 20

    static func read(path: String) throws(ConfigError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw failure(path, step: "open", errno: errno)
        }
        defer { close(descriptor) }

        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 {
                return bytes
            }
            if count < 0 {
                guard errno == EINTR else {
                    throw failure(path, step: "read", errno: errno)
                }
                continue
            }
            bytes += chunk[..<count]
            guard bytes.count <= maxSize else {
                throw ConfigError(problems: [
                    ConfigProblem(path: path, message: "cannot read the configuration: larger than \(maxSize) bytes")
                ])
            }
        }
    }

    private static func failure(_ path: String, step: String, errno code: Int32) -> ConfigError {
        let reason = String(cString: strerror(code))
        return ConfigError(problems: [
            ConfigProblem(path: path, message: "cannot read the configuration: \(step): \(reason)")
        ])
    }
}
