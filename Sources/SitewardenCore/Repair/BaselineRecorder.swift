import Glibc

/// Records a known-good backup of one installed distribution: a copy of every file RECORD lists
/// inside the venv, and a manifest of their digests, sizes, modes and owners.
///
/// The installed files are checked against RECORD while they are copied (one read per file);
/// any disagreement refuses the baseline, because a backup of damaged files would later be
/// "restored" over good ones.
public struct BaselineRecorder {
    public var venv: String
    public var distribution: String
    public var version: String?
    public var backupDirectory: String

    public init(venv: String, distribution: String, version: String?, backupDirectory: String) {
        self.venv = venv
        self.distribution = distribution
        self.version = version
        self.backupDirectory = backupDirectory
    }

    /// Why a baseline was not recorded.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case distribution(DistributionError)
        case noRecord(distInfo: String)
        case installedFilesDoNotMatchRecord([String])
        case unsafePaths([String])
        case write(RepairError)

        public var description: String {
            switch self {
            case .distribution(let error): "\(error)"
            case .noRecord(let distInfo): "\(distInfo) has no RECORD: nothing says what a good install looks like"
            case .installedFilesDoNotMatchRecord(let files):
                "the installed files do not match RECORD, refusing to record them as known-good:\n  "
                    + files.joined(separator: "\n  ")
            case .unsafePaths(let rows):
                "RECORD names paths outside the venv, refusing:\n  " + rows.joined(separator: "\n  ")
            case .write(let error): "\(error)"
            }
        }
    }

    /// Copies and checks every file, writes the manifest, then swaps the new backup into place.
    public func record(now: Int = Int(time(nil))) throws(Failure) -> BaselineManifest {
        let installed: InstalledDistribution
        do {
            installed = try InstalledDistribution.locate(distribution: distribution, version: version, venv: venv)
        } catch {
            throw .distribution(error)
        }
        guard let record = installed.record, !record.entries.isEmpty else {
            throw .noRecord(distInfo: installed.distInfoName)
        }

        let staging = BaselineStagingLeftovers.path(for: backupDirectory)
        let previous = backupDirectory + ".previous"
        for directory in [backupDirectory, staging, previous] {
            guard BackupLayout.mayReplace(directory) else {
                throw .write(
                    RepairError(
                        file: directory, step: "replace the backup",
                        cause: "it exists and is not a sitewarden backup (only manifest.json and files/ belong there); "
                            + "refusing to delete it"))
            }
        }
        removeTree(staging)
        // A baseline killed while copying (kill -9, power cut) left its staging directory behind;
        // without this it would stay there, the size of a whole backup, forever.
        BaselineStagingLeftovers.remove(besides: backupDirectory)
        do {
            let files = try copyFiles(record, of: installed, into: staging)
            let manifest = BaselineManifest(
                distribution: distribution, version: installed.version, venv: installed.venvRoot,
                sitePackages: Paths.relative(installed.sitePackages, to: installed.venvRoot), recordedAt: now,
                files: files
            ).sealed()
            try writeManifest(manifest, in: staging)
            try swapIntoPlace(staging)
            return manifest
        } catch {
            removeTree(staging)
            throw error
        }
    }

    private func copyFiles(
        _ record: Record, of installed: InstalledDistribution, into staging: String
    ) throws(Failure) -> [BaselineFile] {
        let verifier = Verifier(
            target: distribution, venv: venv, distribution: distribution, version: version,
            backupDirectory: backupDirectory)
        var files = [BaselineFile]()
        var mismatches = [String]()
        var unsafe = [String]()
        for entry in record.entries {
            guard
                let absolute = verifier.confinedPath(
                    entry.path, sitePackages: installed.sitePackages, venvRoot: installed.venvRoot)
            else {
                unsafe.append("line \(entry.line): \(entry.path)")
                continue
            }
            // Bytecode pip lists without a hash is the interpreter's to rewrite; it is not kept.
            if entry.hash == nil && entry.path.hasSuffix(".pyc") { continue }

            let venvPath = Paths.relative(absolute, to: installed.venvRoot)
            let copyPath = staging + "/" + BackupLayout.filesDirectory + "/" + venvPath
            do {
                try makeDirectories(Paths.directory(of: copyPath))
            } catch {
                throw .write(RepairError(file: copyPath, step: "create backup directory", cause: "\(error)"))
            }
            let copied: FileFacts
            switch copyForBaseline(absolute, to: copyPath) {
            case .success(let facts):
                copied = facts
            case .failure(.source(let error)):
                mismatches.append("\(entry.path): \(error)")
                continue
            case .failure(.destination(let error)):
                throw .write(RepairError(file: copyPath, step: "write backup copy", cause: "\(error)"))
            }
            // Rows whose hash cannot vouch (md5, unknown algorithms) are held to their size; the
            // verifier warns about them, and from now on the baseline judges those files.
            if RecordJudgement.judge(entry, facts: copied, path: absolute).disagrees {
                mismatches.append("\(entry.path): \(mismatch(copied, entry))")
                continue
            }
            files.append(
                BaselineFile(
                    recordPath: entry.path, venvPath: venvPath, sha256: copied.sha256.hex, size: copied.size,
                    mode: copied.mode, owner: copied.owner, group: copied.group))
        }
        guard unsafe.isEmpty else { throw .unsafePaths(unsafe) }
        guard mismatches.isEmpty else { throw .installedFilesDoNotMatchRecord(mismatches) }
        return files
    }

    /// Which side of a copy failed: reading the installed file, or writing the backup.
    private enum CopyFailure: Error {
        case source(SystemError)
        case destination(SystemError)
    }

    /// Copies one file, returning the digest of the bytes copied and the source's metadata.
    private func copyForBaseline(_ source: String, to copyPath: String) -> Result<FileFacts, CopyFailure> {
        let input: FileDescriptor
        let info: stat
        do {
            input = try FileDescriptor.openRegularFile(source)
            info = try input.stat()
        } catch {
            return .failure(.source(error))
        }
        do {
            let output = try FileDescriptor.open(copyPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
            let (digest, size) = try copyHashing(input, to: output)
            try output.sync()
            return .success(
                FileFacts(
                    sha256: digest, size: size, mode: info.st_mode & 0o7777, owner: info.st_uid, group: info.st_gid))
        } catch  where error.subject == source {
            return .failure(.source(error))
        } catch {
            return .failure(.destination(error))
        }
    }

    private func mismatch(_ copied: FileFacts, _ entry: RecordEntry) -> String {
        if case .verifiable(.sha256, let digest) = entry.hash?.check {
            return "sha256 \(copied.sha256.hex), RECORD says \(Hex.encode(digest))"
        }
        if let size = entry.size, size != copied.size { return "size \(copied.size), RECORD says \(size)" }
        return "content differs from RECORD's \(entry.hash?.algorithm ?? "hash")"
    }

    private func writeManifest(_ manifest: BaselineManifest, in staging: String) throws(Failure) {
        let path = staging + "/" + BaselineManifest.fileName
        do {
            let file = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            try file.writeAll(manifest.encoded())
            try file.sync()
            try syncDirectory(staging)
        } catch {
            throw .write(RepairError(file: path, step: "write manifest", cause: "\(error)"))
        }
    }

    /// Replaces the old backup with the staged one. The old one is renamed aside first and removed
    /// only after the new one is in place, so a crash leaves one complete backup on disk.
    private func swapIntoPlace(_ staging: String) throws(Failure) {
        let previous = backupDirectory + ".previous"
        removeTree(previous)
        if rename(backupDirectory, previous) != 0 && errno != ENOENT {
            throw .write(
                RepairError(
                    file: backupDirectory, step: "move old backup aside",
                    cause: "\(SystemError("rename", backupDirectory))"))
        }
        guard rename(staging, backupDirectory) == 0 else {
            let error = SystemError("rename", staging)
            rename(previous, backupDirectory)
            throw .write(RepairError(file: backupDirectory, step: "install new backup", cause: "\(error)"))
        }
        try? syncDirectory(Paths.directory(of: backupDirectory))
        removeTree(previous)
    }
}

/// Removes a directory tree without following symlinks; missing paths are fine.
func removeTree(_ path: String) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    if info.st_mode & S_IFMT == S_IFDIR {
        for name in directoryEntries(path) { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}
