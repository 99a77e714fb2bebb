import Glibc

extension Verifier {
    /// Importable code in the distribution's package directories (`packageDirectories`, from the
    /// expectations) that no RECORD and no baseline lists: `.py` and `.so` files, and bytecode
    /// Python would load without a source (a `.pyc` outside `__pycache__`). Interpreter-written `__pycache__` bytecode of an existing source is
    /// normal; bytecode whose source is gone is extra. Paths matching `ignore` are exempt.
    /// `walked`, when given, receives every directory listed, whose entries the outcome rests on.
    func extraFiles(
        _ expectations: Expectations, in packageDirectories: [String], baselineUsed: Bool, walked: inout [String]?,
        progress: @escaping @Sendable () -> Void
    ) -> [FileDrift] {
        // Judged as found: a large package has tens of thousands of files, nearly all installed.
        var extras = [String]()
        for directory in packageDirectories {
            collectImportable(in: expectations.sitePackages + "/" + directory, depth: 0, walked: &walked) { path in
                let venvPath = Paths.relative(path, to: expectations.venvRoot)
                if !expectations.isInstalled(venvPath)
                    && !expectations.isIgnored(Paths.relative(path, to: expectations.sitePackages))
                {
                    extras.append(venvPath)
                }
            }
        }
        guard !extras.isEmpty else { return [] }

        let states = FileScanner().observe(extras.map { expectations.venvRoot + "/" + $0 }, progress: progress)
        return zip(extras, states).map { venvPath, state in
            var drift = FileDrift(
                recordPath: Paths.relative(expectations.venvRoot + "/" + venvPath, to: expectations.sitePackages),
                venvPath: venvPath, kind: .extra, expectedSHA256: nil, expectedSize: nil, actualSHA256: nil,
                actualSize: nil, disagreesWithRecord: true, disagreesWithBaseline: baselineUsed)
            if case .present(let facts) = state {
                drift.actualSHA256 = facts.sha256
                drift.actualSize = facts.size
                drift.actualMetadata = FileMetadata(mode: facts.mode, owner: facts.owner, group: facts.group)
            }
            return drift
        }
    }

    /// Walks `directory` without following symlinks, handing each importable file to `found` (absolute paths).
    private func collectImportable(
        in directory: String, depth: Int, walked: inout [String]?, found: (String) -> Void
    ) {
        // Real packages nest a handful of levels; the bound only stops a pathological tree.
        guard depth < 64 else { return }
        walked?.append(directory)
        let inPycache = Paths.lastComponent(of: directory) == "__pycache__"
        for (name, type) in directoryEntriesWithTypes(directory) {
            let path = directory + "/" + name
            // readdir's type spares an lstat per file; filesystems that do not fill it in get one.
            var isDirectory = type == UInt8(DT_DIR)
            if type == UInt8(DT_UNKNOWN) {
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                isDirectory = info.st_mode & S_IFMT == S_IFDIR
            }
            if isDirectory {
                collectImportable(in: path, depth: depth + 1, walked: &walked, found: found)
                continue
            }
            if name.hasSuffix(".py") || name.hasSuffix(".so") {
                found(path)
            } else if name.hasSuffix(".pyc") {
                // `__pycache__/server.cpython-311.pyc` belongs to `../server.py`.
                if inPycache, let stem = name.split(separator: ".").first {
                    let source = Paths.directory(of: directory) + "/" + stem + ".py"
                    var sourceInfo = stat()
                    if lstat(source, &sourceInfo) == 0 { continue }
                }
                found(path)
            }
        }
    }
}
