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
    /// The file's size, mtime or ctime changed while it was being hashed: the digest describes no
    /// state the file was ever in, so it proves nothing either way. Looked at again next cycle.
    case unstable
}

/// The digest and metadata of one regular file.
public struct FileFacts: Sendable, Equatable {
    public var sha256: SHA256Digest
    public var size: Int
    public var mode: UInt32
    public var owner: UInt32
    public var group: UInt32
}

/// What `stat` says about a file that matters to whether its content may have changed.
///
/// Any write changes the size or the ctime (which no unprivileged call can set back); a file
/// replaced by another has another inode. The scan cache trusts a digest only while all of it is
/// unchanged.
struct FileStamp: Sendable, Equatable {
    var size: Int64
    var modifiedNanoseconds: Int64
    var changedNanoseconds: Int64
    var inode: UInt64
    var device: UInt64

    init(size: Int64, modifiedNanoseconds: Int64, changedNanoseconds: Int64, inode: UInt64, device: UInt64) {
        self.size = size
        self.modifiedNanoseconds = modifiedNanoseconds
        self.changedNanoseconds = changedNanoseconds
        self.inode = inode
        self.device = device
    }

    init(_ info: stat) {
        self.init(
            size: Int64(info.st_size),
            modifiedNanoseconds: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
            changedNanoseconds: Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec),
            inode: UInt64(info.st_ino), device: UInt64(info.st_dev))
    }
}

/// Hashes files by streaming them through one reused SHA-256 context and one fixed buffer, so a
/// multi-gigabyte file costs no more memory than a small one. Not thread-safe: one per thread.
///
/// Files are opened with `O_NOFOLLOW`: a package file replaced by a symlink is reported, not followed.
final class FileHasher {
    static let bufferSize = 64 * 1024
    /// `O_NOATIME`, which Swift's Glibc module leaves out (it is behind `_GNU_SOURCE`); this is its
    /// value on x86-64 and arm64.
    private static let noAtimeFlag: Int32 = 0o1_000_000

    private let hasher = SHA256Hasher()
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
    /// Cleared after the first EPERM: `O_NOATIME` is refused on files the caller does not own
    /// unless it has CAP_FOWNER, and retrying every file would double the opens.
    private var noAtime = true

    /// Test seam: runs after the last read and before the second `fstat`, with the descriptor.
    var afterHashing: ((Int32) -> Void)?

    /// Test hook: `SITEWARDEN_TEST_READ_DELAY_US` sleeps that long after every read, as a slow or
    /// throttled disk would, so a long first scan under the watchdog can be shown (CASES.md 11).
    static let testReadDelay: useconds_t? = getenv("SITEWARDEN_TEST_READ_DELAY_US").flatMap {
        useconds_t(String(cString: $0))
    }

    /// The directory of the last file opened, and a descriptor of it: the scan goes in path order,
    /// so most files are opened with a one-component lookup instead of walking the whole path.
    private var directory: (path: [UInt8], descriptor: Int32)?

    deinit {
        buffer.deallocate()
        if let directory { close(directory.descriptor) }
    }

    /// What is at `path`; `progress` is called every 16 MiB hashed.
    func state(of path: String, progress: () -> Void = {}) -> FileState {
        observe(path, progress: progress).state
    }

    /// What is at `path`, and for a regular file that held still while it was hashed, its stamp.
    func observe(_ path: String, progress: () -> Void = {}) -> (state: FileState, stamp: FileStamp?) {
        let fd: Int32
        switch open(path) {
        case .success(let opened): fd = opened
        case .failure(let error):
            switch error.code {
            case ENOENT, ENOTDIR: return (.missing, nil)
            case ELOOP: return (.notRegularFile, nil)
            default: return (.unreadable(error), nil)
            }
        }
        defer { close(fd) }

        var before = stat()
        guard fstat(fd, &before) == 0 else { return (.unreadable(SystemError("fstat", path)), nil) }
        guard before.st_mode & S_IFMT == S_IFREG else { return (.notRegularFile, nil) }
        if before.st_size > Self.bufferSize {
            // Twice the readahead window for the files where reading, not opening, is the cost.
            _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        }

        let digest: SHA256Digest
        let size: Int
        switch hash(fd, path: path, progress: progress) {
        case .success(let result): (digest, size) = result
        case .failure(let error): return (.unreadable(error), nil)
        }

        afterHashing?(fd)
        var after = stat()
        guard fstat(fd, &after) == 0 else { return (.unreadable(SystemError("fstat", path)), nil) }
        let stamp = FileStamp(before)
        guard stamp == FileStamp(after), Int64(size) == stamp.size else { return (.unstable, nil) }

        let facts = FileFacts(
            sha256: digest, size: size, mode: before.st_mode & 0o7777, owner: before.st_uid, group: before.st_gid)
        return (.present(facts), stamp)
    }

    private func open(_ path: String) -> Result<Int32, SystemError> {
        let flags = O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC
        if noAtime {
            // Reading a whole venv must not dirty every inode with a new atime.
            let fd = openThroughDirectory(path, flags | Self.noAtimeFlag)
            if fd >= 0 { return .success(fd) }
            guard errno == EPERM else { return .failure(SystemError("open", path)) }
            noAtime = false
        }
        let fd = openThroughDirectory(path, flags)
        return fd >= 0 ? .success(fd) : .failure(SystemError("open", path))
    }

    /// `open(path, flags)`, through the kept descriptor of the path's directory when it has one.
    /// The directory is opened as a lookup of the whole path would reach it (symlinks above the
    /// last component followed); when it cannot be, the whole path is opened so errno tells why.
    private func openThroughDirectory(_ path: String, _ flags: Int32) -> Int32 {
        path.withCString { whole in
            let length = strlen(whole)
            var slash = length
            while slash > 0 && whole[slash - 1] != CChar(UInt8(ascii: "/")) { slash -= 1 }
            guard slash > 1, slash < length else { return Glibc.open(whole, flags) }
            let parent = UnsafeRawBufferPointer(start: whole, count: slash - 1)
            if directory.map({ $0.path.elementsEqual(parent) }) != true {
                if let directory { close(directory.descriptor) }
                directory = nil
                let path = Array(parent) + [0]
                let descriptor = path.withUnsafeBufferPointer { name in
                    name.withMemoryRebound(to: CChar.self) {
                        Glibc.open($0.baseAddress!, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                    }
                }
                if descriptor >= 0 { directory = (Array(parent), descriptor) }
            }
            guard let directory else { return Glibc.open(whole, flags) }
            return openat(directory.descriptor, whole + slash, flags)
        }
    }

    private func hash(_ fd: Int32, path: String, progress: () -> Void) -> Result<(SHA256Digest, Int), SystemError> {
        hasher.reset()
        var size = 0
        var chunks = 0
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                return .failure(SystemError("read", path))
            }
            if let delay = Self.testReadDelay { usleep(delay) }
            if count == 0 { return .success((hasher.finish(), size)) }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            size += count
            chunks += 1
            if chunks % 64 == 0 { progress() }
        }
    }
}
