import Glibc

/// What is on disk at one path, as far as verification cares.
public enum FileState: Sendable, Equatable {
    case missing
    /// A regular file: its digest, size and metadata, read from one open descriptor.
    case present(FileFacts)
    /// Something other than a regular file (a symlink, a directory, a fifo).
    case notRegularFile
    /// The file exists but could not be read.
    case unreadable(SystemError)
}

/// The digest and metadata of one regular file.
public struct FileFacts: Sendable, Equatable {
    public var sha256: SHA256Digest
    public var size: Int
    public var mode: UInt32
    public var owner: UInt32
    public var group: UInt32
}

/// Hashes files by streaming them through one reused SHA-256 context, in bounded memory.
///
/// Files are opened with `O_NOFOLLOW`: a package file replaced by a symlink is reported, not followed.
final class FileHasher {
    private let hasher = SHA256Hasher()
    private var buffer = [UInt8](repeating: 0, count: 256 * 1024)

    /// What is at `path`; `progress` is called every 16 MiB hashed.
    func state(of path: String, progress: () -> Void = {}) -> FileState {
        let file: FileDescriptor
        do {
            file = try FileDescriptor.open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK)
        } catch {
            switch error.code {
            case ENOENT, ENOTDIR: return .missing
            case ELOOP: return .notRegularFile
            default: return .unreadable(error)
            }
        }
        do {
            let info = try file.stat()
            guard info.st_mode & S_IFMT == S_IFREG else { return .notRegularFile }
            let (digest, size) = try hash(file, progress: progress)
            return .present(
                FileFacts(
                    sha256: digest, size: size, mode: info.st_mode & 0o7777, owner: info.st_uid, group: info.st_gid)
            )
        } catch {
            return .unreadable(error)
        }
    }

    private func hash(_ file: FileDescriptor, progress: () -> Void) throws(SystemError) -> (SHA256Digest, Int) {
        hasher.reset()
        var size = 0
        var chunks = 0
        while true {
            chunks += 1
            if chunks % 64 == 0 { progress() }
            let count = try file.read(into: &buffer)
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            if count == 0 { return (hasher.finish(), size) }
            size += count
        }
    }
}
