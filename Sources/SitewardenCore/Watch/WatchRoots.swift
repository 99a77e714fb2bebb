/// Which directories to watch for one target: those holding its files, and site-packages.
///
/// Every directory that holds a file RECORD or the baseline lists is watched; those inside
/// site-packages (the package and its subpackages, the dist-info) recursively, so a subpackage
/// that is deleted and recreated is seen. site-packages itself is watched without its
/// subdirectories (other distributions live there): a new or removed dist-info or package
/// directory shows up as an entry event. Directories outside site-packages (`bin/` for console
/// scripts) are watched alone. Paths that leave the venv are never watched, as they are never read.
enum WatchRoots {
    static func of(_ target: TargetConfig) -> [ChangeWatcher.Root] {
        let installed = try? InstalledDistribution.locate(
            distribution: target.distribution, version: target.version, venv: target.venv)
        let venvRoot = installed?.venvRoot ?? (try? Paths.realPath(target.venv))
        guard let venvRoot else { return [] }
        let sitePackages =
            installed?.sitePackages ?? InstalledDistribution.sitePackagesDirectories(venvRoot: venvRoot).first
        let verifier = Verifier(
            target: target.name, venv: target.venv, distribution: target.distribution, version: target.version,
            backupDirectory: target.backup)

        var files = [String]()
        if let installed, let record = installed.record {
            files += record.entries.compactMap {
                verifier.confinedPath($0.path, sitePackages: installed.sitePackages, venvRoot: venvRoot)
            }
        }
        if let manifest = try? BaselineManifest.load(backupDirectory: target.backup) {
            files += manifest.files.map { Paths.normalize(venvRoot + "/" + $0.venvPath) }
                .filter { Paths.isInside($0, root: venvRoot) && Verifier.resolvesInside($0, venvRoot: venvRoot) }
        }
        return roots(directories: Set(files.map(Paths.directory(of:))), sitePackages: sitePackages)
    }

    /// The fewest roots covering `directories`: a recursive root inside another recursive one adds nothing.
    static func roots(directories: Set<String>, sitePackages: String?) -> [ChangeWatcher.Root] {
        var all = directories
        if let sitePackages { all.insert(sitePackages) }
        let candidates = all.sorted().map { directory in
            ChangeWatcher.Root(
                path: directory,
                recursive: sitePackages.map { directory != $0 && Paths.isInside(directory, root: $0) } ?? false)
        }
        return candidates.filter { root in
            !root.recursive
                || !candidates.contains { other in
                    other.recursive && other.path != root.path && Paths.isInside(root.path, root: other.path)
                }
        }
    }
}
