/// Observes many files at once: what is on disk at each path (digest, size, metadata).
///
/// The engine under verification: given paths, it returns their states in the same order.
/// `progress` is called after every file and every 16 MiB hashed.
final class FileScanner {
    private let hasher = FileHasher()

    func observe(_ paths: [String], progress: () -> Void) -> [FileState] {
        paths.map { path in
            let state = hasher.state(of: path, progress: progress)
            progress()
            return state
        }
    }
}
