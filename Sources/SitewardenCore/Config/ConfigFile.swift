import Glibc

/// Reads a configuration file's bytes, turning any failure into a problem that names the file and the errno.
enum ConfigFile {
    /// Larger files are refused: a configuration is a few kilobytes, and a path like /dev/zero must not
    /// fill memory.
    static let maxSize = 1 << 20

    static func read(path: String) throws(ConfigError) -> [UInt8] {
        do {
            return try FileDescriptor.readRegularFile(path, limit: maxSize)
        } catch {
            throw ConfigError(problems: [
                ConfigProblem(path: path, message: "cannot read the configuration: \(error.callAndCause)")
            ])
        }
    }
}
