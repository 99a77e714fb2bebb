/// Observes many files at once: what is on disk at each path (digest, size, metadata).
///
/// The engine under verification: given paths, it returns their states in the same order.
/// `progress` is called after every file and every 16 MiB hashed, and while a read is waited on.
final class FileScanner {
    private var hasher = FileHasher()
    private let stallGuard: StallGuard

    /// `readTimeout`: how long reading one file may go without progress before it is given up as
    /// unreadable for this pass (a hung network or FUSE mount).
    init(readTimeout: Duration = DaemonConfig.defaultReadTimeout) {
        stallGuard = StallGuard(deadline: readTimeout)
    }

    func observe(_ paths: [String], progress: () -> Void) -> [FileState] {
        paths.map { path in
            let state = guardedState(of: path, progress: progress)
            progress()
            return state
        }
    }

    /// Hashes on the guard's worker thread; a read that stalls leaves its hasher with the stuck
    /// thread and this scanner carries on with a new one.
    private func guardedState(of path: String, progress: () -> Void) -> FileState {
        let hasher = self.hasher
        let state = stallGuard.run(waiting: progress) { advanced in
            hasher.state(of: path, progress: advanced)
        }
        guard let state else {
            self.hasher = FileHasher()
            return .unreadable(StallGuard.timedOut(path, after: stallGuard.deadline))
        }
        return state
    }
}
