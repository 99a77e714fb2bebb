import Glibc

/// Reads a configuration file's bytes, turning any failure into a problem that names the file and the errno.
enum ConfigFile {
    /// Larger files are refused: a configuration is a few kilobytes, and a path like /dev/zero must not
    /// fill memory.
    static let maxSize = 1 << 20

    /// A symlink is followed (configuration managers link /etc files into place); the file it
    /// leads to must be a regular file, and a link leading nowhere is named as such.
    static func read(path: String) throws(ConfigError) -> [UInt8] {
        do {
            return try FileDescriptor.readRegularFile(path, limit: maxSize, followSymlinks: true)
        } catch {
            var cause = error.callAndCause
            if error.code == ENOENT, let target = symlinkTarget(path) {
                cause = "it is a symlink to '\(target.printable)', which does not exist (\(cause))"
            }
            throw ConfigError(problems: [ConfigProblem(path: path, message: "cannot read the configuration: \(cause)")])
        }
    }

    /// What the symlink at `path` points to, or nil when `path` is not a symlink.
    private static func symlinkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
