import Glibc

/// A directory under /tmp for one test, removed with its files when the value goes away.
final class ConfigTemporaryDirectory {
    /// Why a test could not set up its files.
    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    let path: String
    private var files: [String] = []

    init() throws(SetupError) {
        var template = Array("/tmp/sitewarden-config-test.XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SetupError(description: "mkdtemp: \(String(cString: strerror(errno)))")
        }
        path = String(cString: created)
    }

    /// Writes `bytes` to `name` in the directory and returns the file's path.
    func write(_ name: String, bytes: [UInt8]) throws(SetupError) -> String {
        let file = "\(path)/\(name)"
        let descriptor = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw SetupError(description: "open \(file): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }

        files.append(file)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw SetupError(description: "write \(file): \(String(cString: strerror(errno)))")
        }
        return file
    }

    func write(_ name: String, _ text: String) throws(SetupError) -> String {
        try write(name, bytes: Array(text.utf8))
    }

    deinit {
        for file in files {
            unlink(file)
        }
        rmdir(path)
    }
}
