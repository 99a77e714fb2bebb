import Glibc

/// uv's lock on a venv: `uv pip install` and `uv sync` hold an exclusive `flock` on `<venv>/.lock`
/// for the whole install (checked with uv 0.13: `flock -n <venv>/.lock true` fails while it runs).
///
/// A restore takes the same lock shared, without waiting: when an installer holds it, the restore
/// is deferred; when the restore holds it, an installer that starts meanwhile waits for it.
/// A venv without `.lock` (pip, or uv never ran) has nothing to take; the file is never created.
final class InstallerLock {
    private let descriptor: FileDescriptor?

    private init(descriptor: FileDescriptor?) {
        self.descriptor = descriptor
    }

    /// The lock file's name inside the venv.
    static let fileName = ".lock"

    /// The lock held shared until the value is released, or nil when an installer holds it.
    static func acquireShared(venv: String) -> InstallerLock? {
        let path = venv + "/" + fileName
        guard let file = try? FileDescriptor.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) else {
            return InstallerLock(descriptor: nil)
        }
        while flock(file.rawValue, LOCK_SH | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            // EWOULDBLOCK: held exclusively. Anything else (a lock file we cannot lock) is not uv's.
            return errno == EWOULDBLOCK ? nil : InstallerLock(descriptor: nil)
        }
        return InstallerLock(descriptor: file)
    }

    deinit {
        if let descriptor { flock(descriptor.rawValue, LOCK_UN) }
    }
}
