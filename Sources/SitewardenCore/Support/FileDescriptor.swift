import Glibc

/// An owned file descriptor, closed when the value is released.
///
/// Opened with `O_CLOEXEC` always, so no descriptor leaks into children.
final class FileDescriptor {
    let rawValue: Int32
    let path: String

    private init(rawValue: Int32, path: String) {
        self.rawValue = rawValue
        self.path = path
    }

    deinit {
        close(rawValue)
    }

    /// Opens `path` with `flags | O_CLOEXEC`.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(SystemError) -> FileDescriptor {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SystemError("open", path) }
        return FileDescriptor(rawValue: fd, path: path)
    }

    /// Opens `name` relative to the directory descriptor `directory`.
    static func open(
        _ name: String, in directory: FileDescriptor, _ flags: Int32, mode: mode_t = 0
    ) throws(SystemError) -> FileDescriptor {
        let fd = openat(directory.rawValue, name, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SystemError("open", directory.path + "/" + name) }
        return FileDescriptor(rawValue: fd, path: directory.path + "/" + name)
    }

    /// Opens a regular file for reading, never blocking on a FIFO or device and, unless
    /// `followSymlinks`, never following a symlink: RECORD, manifests and package files are all
    /// regular files. Configuration files follow one (stow, Nix and Ansible link /etc files), but
    /// what the link names must still be a regular file.
    static func openRegularFile(_ path: String, followSymlinks: Bool = false) throws(SystemError) -> FileDescriptor {
        let file = try open(path, O_RDONLY | (followSymlinks ? 0 : O_NOFOLLOW) | O_NOCTTY | O_NONBLOCK)
        guard try file.stat().st_mode & S_IFMT == S_IFREG else {
            throw SystemError("open", path, code: EINVAL, reason: "not a regular file")
        }
        return file
    }

    /// Reads a whole regular file of at most `limit` bytes (RECORD, manifests, configuration).
    static func readRegularFile(
        _ path: String, limit: Int, followSymlinks: Bool = false
    ) throws(SystemError) -> [UInt8] {
        let file = try openRegularFile(path, followSymlinks: followSymlinks)
        var bytes = [UInt8]()
        // One allocation for the usual case: a file read whole is rarely still growing.
        if let size = try? file.stat().st_size, size > 0, size <= limit { bytes.reserveCapacity(Int(size) + 1) }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = try file.read(into: &chunk)
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
            guard bytes.count <= limit else {
                throw SystemError("read", path, code: EFBIG, reason: "larger than \(limit) bytes")
            }
        }
    }

    func stat() throws(SystemError) -> Glibc.stat {
        var info = Glibc.stat()
        guard fstat(rawValue, &info) == 0 else { throw SystemError("fstat", path) }
        return info
    }

    /// Reads into `buffer[range]` (the whole buffer by default). Returns 0 at end of file.
    func read(into buffer: inout [UInt8], range: Range<Int>? = nil) throws(SystemError) -> Int {
        let range = range ?? 0..<buffer.count
        while true {
            let count = buffer.withUnsafeMutableBytes {
                Glibc.read(rawValue, $0.baseAddress! + range.lowerBound, range.count)
            }
            if count >= 0 { return count }
            if errno != EINTR { throw SystemError("read", path) }
        }
    }

    /// Writes `bytes[0..<count]` (all of it by default), retrying on short writes and EINTR.
    func writeAll(_ bytes: [UInt8], count total: Int? = nil) throws(SystemError) {
        let total = total ?? bytes.count
        var offset = 0
        while offset < total {
            let count = bytes.withUnsafeBytes { Glibc.write(rawValue, $0.baseAddress! + offset, total - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SystemError("write", path)
            }
            offset += count
        }
    }

    func sync() throws(SystemError) {
        guard fsync(rawValue) == 0 else { throw SystemError("fsync", path) }
    }
}
