import Glibc

/// Removes the staged copies an interrupted restore left beside their targets (CASES.md 14).
///
/// Staging writes `.sitewarden-staged-*` files only into directories of files the baseline lists,
/// and a rename is atomic: after a `kill -9` every installed file is its old or its new version,
/// and what is left over is staged files nobody renamed. They are looked for only in those
/// directories, only inside the venv (a directory reached through a symlink out of it is skipped),
/// and only names carrying the marker are removed, by `unlinkat` on the directory's descriptor,
/// so a symlink is never followed.
enum StagedLeftovers {
    /// Removes the leftovers for `manifest`'s files under `venvRoot`; returns their venv paths.
    static func remove(venvRoot: String, manifest: BaselineManifest) -> [String] {
        let directories = Set(manifest.files.map { Paths.directory(of: $0.venvPath) })
        var removed = [String]()
        for relative in directories.sorted() {
            let path = Paths.normalize(venvRoot + "/" + relative)
            guard Paths.isInside(path, root: venvRoot), Verifier.resolvesInside(path, venvRoot: venvRoot) else {
                continue
            }
            guard let directory = try? FileDescriptor.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else {
                continue
            }
            for name in directoryEntries(path) where name.hasPrefix(StagedCopy.marker) {
                var info = stat()
                guard fstatat(directory.rawValue, name, &info, AT_SYMLINK_NOFOLLOW) == 0,
                    info.st_mode & S_IFMT != S_IFDIR
                else { continue }
                if unlinkat(directory.rawValue, name, 0) == 0 {
                    removed.append(relative.isEmpty ? name : relative + "/" + name)
                }
            }
            if !removed.isEmpty { try? directory.sync() }
        }
        return removed
    }

    /// The same, for a target: loads its baseline; nothing to do without one.
    static func remove(for target: TargetConfig) -> [String] {
        guard let manifest = try? BaselineManifest.load(backupDirectory: target.backup) else { return [] }
        let venvRoot = (try? Paths.realPath(target.venv)) ?? target.venv
        return remove(venvRoot: venvRoot, manifest: manifest)
    }
}
