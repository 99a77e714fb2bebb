import Glibc

/// One sitewarden's claim to restore one target: an exclusive `flock` on
/// `<state_directory>/restore-<target>.lock`.
///
/// uv's venv lock is only ever taken shared by sitewarden, so it does not keep two sitewardens
/// apart: the daemon and `sitewarden restore` run by hand (as the README suggests after an
/// ineffective repair) would both restore, and the second would quarantine the first one's good
/// copies as damage. Taken without waiting: when another sitewarden holds it, the restore is
/// deferred, and whoever gets it next verifies again before touching anything.
final class RestoreLock {
    private let descriptor: FileDescriptor?
    let path: String

    private init(descriptor: FileDescriptor?, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    /// The lock held until the value is released, or nil when another sitewarden holds it. A state
    /// directory where no lock file can be made (read-only, missing) gives a lock that holds
    /// nothing: the restore goes on, as it did before locks, and verifies again all the same.
    static func acquire(stateDirectory: String, target: String) -> RestoreLock? {
        let path = stateDirectory + "/restore-" + stateFileName(target) + ".lock"
        guard let file = try? FileDescriptor.open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK, mode: 0o600)
        else {
            return RestoreLock(descriptor: nil, path: path)
        }
        while flock(file.rawValue, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            return errno == EWOULDBLOCK ? nil : RestoreLock(descriptor: nil, path: path)
        }
        return RestoreLock(descriptor: file, path: path)
    }

    deinit {
        if let descriptor { flock(descriptor.rawValue, LOCK_UN) }
    }
}
