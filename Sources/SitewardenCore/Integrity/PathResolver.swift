import Glibc

/// `Paths.resolveExistingPrefix` for many paths of one tree, resolving each directory once.
///
/// glibc's `realpath` reads every component of every path (a `readlink` each), which made the
/// confinement check of a 40,000-file venv cost more than hashing it from the page cache. Here a
/// path costs one `lstat` of its last component, and a directory is resolved the first time a
/// path below it is seen. Good for one verification: the tree may change between two.
final class PathResolver {
    private var directories: [String: String] = ["/": "/"]

    /// The same answer as `Paths.resolveExistingPrefix(path)` for a normalized absolute `path`.
    func resolveExistingPrefix(_ path: String) -> String {
        guard path != "/" else { return "/" }
        let parent = resolveDirectory(Paths.directory(of: path))
        let candidate = (parent == "/" ? "" : parent) + "/" + Paths.lastComponent(of: path)
        var info = stat()
        // Only a symlink needs more than its resolved parent; a missing or non-directory parent
        // leaves the rest unresolved, as realpath's fallback to the deepest existing ancestor does.
        guard lstat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFLNK else { return candidate }
        return Paths.resolveExistingPrefix(candidate)
    }

    /// True when no symlink on the way to `path` (the file itself included) leads out of `venvRoot`.
    func resolvesInside(_ path: String, venvRoot: String) -> Bool {
        Paths.isInside(resolveExistingPrefix(path), root: venvRoot)
    }

    /// True when no symlink on the way to `path`'s directory leads out of `venvRoot`; the last
    /// component, which may itself be a symlink, is the caller's to judge.
    func directoryResolvesInside(_ path: String, venvRoot: String) -> Bool {
        guard path != "/" else { return venvRoot == "/" }
        // A plain name below a directory inside the venv is inside too.
        return Paths.isInside(resolveDirectory(Paths.directory(of: path)), root: venvRoot)
    }

    /// An empty value stands for "resolves to itself", the usual case, so that only directories
    /// reached through a symlink cost a second string.
    private func resolveDirectory(_ directory: String) -> String {
        if let resolved = directories[directory] { return resolved.isEmpty ? directory : resolved }
        let resolved = resolveExistingPrefix(directory)
        directories[directory] = resolved == directory ? "" : resolved
        return resolved
    }
}
