import Glibc

/// Puts drifted files back from the verified backup, all of a target's files or none.
///
/// Order matters: every backup copy is checked against the manifest before anything is staged,
/// every replacement is staged and synced before anything is renamed, and the directories are
/// synced last. A failure before the renames leaves the venv untouched.
public struct Restorer {
    public var venvRoot: String
    public var backupDirectory: String
    public var manifest: BaselineManifest

    public init(venvRoot: String, backupDirectory: String, manifest: BaselineManifest) {
        self.venvRoot = venvRoot
        self.backupDirectory = backupDirectory
        self.manifest = manifest
    }

    /// Why nothing was restored.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// A backup copy does not match its manifest entry (or is gone): never restore from it.
        case backupDamaged(file: String, reason: String)
        /// The baseline has no copy of this file.
        case noKnownGoodCopy(file: String)
        case repair(RepairError)

        public var description: String {
            switch self {
            case .backupDamaged(let file, let reason): "backup damaged: \(file) (\(reason))"
            case .noKnownGoodCopy(let file): "no known-good copy of \(file) in the baseline"
            case .repair(let error): "\(error)"
            }
        }
    }

    /// The known-good files a restore of `drifts` would write, after checking each backup copy
    /// against the manifest. Changes nothing: `restore --dry-run` shows this.
    public func plan(_ drifts: [FileDrift]) throws(Failure) -> [BaselineFile] {
        let files = try plannedFiles(for: drifts)
        try verifyBackup(files)
        return files
    }

    /// Restores `drifts`; returns the files replaced, with the digests written.
    public func restore(_ drifts: [FileDrift]) throws(Failure) -> [BaselineFile] {
        let files = try plan(drifts)

        var staged = [StagedCopy]()
        for file in files {
            switch stage(file) {
            case .success(let copy):
                staged.append(copy)
            case .failure(let failure):
                for copy in staged { copy.discard() }
                throw failure
            }
        }

        // Renames cannot be undone as a group; when one fails, the message says which files
        // were already replaced so the report is exact.
        for (index, copy) in staged.enumerated() {
            do { try copy.commit() } catch {
                for copy in staged[index...] { copy.discard() }
                var failure = error
                let replaced = files[..<index].map(\.recordPath)
                if !replaced.isEmpty { failure.cause += "; already replaced: \(replaced.joined(separator: ", "))" }
                throw .repair(failure)
            }
        }
        for directory in Set(staged.map { Paths.directory(of: $0.destination) }) {
            do { try syncDirectory(directory) } catch {
                throw .repair(RepairError(file: directory, step: "sync directory", cause: "\(error)"))
            }
        }
        return files
    }

    private func stage(_ file: BaselineFile) -> Result<StagedCopy, Failure> {
        let destination = venvRoot + "/" + file.venvPath
        do {
            try makeParent(of: destination)
            // Staging writes into the destination's directory: never where a symlink leads.
            guard Verifier.resolvesInside(Paths.directory(of: destination), venvRoot: venvRoot) else {
                return .failure(
                    .repair(
                        RepairError(
                            file: file.recordPath, step: "stage the copy",
                            cause: "its directory leads out of the venv through a symlink; remove the symlink first")))
            }
            let copy = try StagedCopy.stage(
                from: backupPath(of: file), to: destination, mode: file.mode, owner: file.owner, group: file.group)
            guard copy.facts.sha256.hex == file.sha256 else {
                copy.discard()
                return .failure(.backupDamaged(file: file.recordPath, reason: "changed while it was being copied"))
            }
            return .success(copy)
        } catch {
            return .failure(.repair(error))
        }
    }

    private func plannedFiles(for drifts: [FileDrift]) throws(Failure) -> [BaselineFile] {
        var byPath = [String: BaselineFile]()
        for file in manifest.files { byPath[file.venvPath] = file }
        var files = [BaselineFile]()
        for drift in drifts {
            guard let file = byPath[drift.venvPath] else { throw .noKnownGoodCopy(file: drift.recordPath) }
            files.append(file)
        }
        return files
    }

    /// Hashes every backup copy that will be used; one bad copy refuses the whole restore.
    private func verifyBackup(_ files: [BaselineFile]) throws(Failure) {
        let hasher = FileHasher()
        for file in files {
            switch hasher.state(of: backupPath(of: file)) {
            case .present(let facts) where facts.sha256.hex == file.sha256 && facts.size == file.size:
                continue
            case .present(let facts):
                throw .backupDamaged(
                    file: file.recordPath, reason: "sha256 \(facts.sha256.hex), manifest says \(file.sha256)")
            case .missing:
                throw .backupDamaged(file: file.recordPath, reason: "the backup copy is missing")
            case .notRegularFile:
                throw .backupDamaged(file: file.recordPath, reason: "the backup copy is not a regular file")
            case .unreadable(let error):
                throw .backupDamaged(file: file.recordPath, reason: "\(error)")
            case .unstable:
                throw .backupDamaged(file: file.recordPath, reason: "the backup copy changed while being hashed")
            }
        }
    }

    private func backupPath(of file: BaselineFile) -> String {
        backupDirectory + "/" + BackupLayout.filesDirectory + "/" + file.venvPath
    }

    /// A missing file may have lost its directory too (a whole subpackage gone).
    private func makeParent(of destination: String) throws(RepairError) {
        let parent = Paths.directory(of: destination)
        do { try makeDirectories(parent) } catch {
            throw RepairError(file: destination, step: "create directory", cause: "\(error)")
        }
    }
}
