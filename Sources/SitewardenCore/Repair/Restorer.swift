import Glibc

/// Puts drifted files back from the verified backup, all of a target's files or none.
///
/// Order matters: every backup copy is checked against the manifest before anything is staged,
/// every replacement is staged and synced before anything is renamed, and the directories are
/// synced last. A failure before the renames leaves the venv untouched. Files whose content is
/// intact but whose mode or owner drifted get the recorded ones back in place, after the renames.
///
/// With a `quarantine`, each file about to be replaced is hard-linked (or copied) into it before the
/// renames, with a record of why. Only files with a known-good copy are restored: `extra` files
/// (code nobody installed) are left where they are, or moved into the quarantine when
/// `quarantineExtras` says so; never deleted.
public struct Restorer {
    public var venvRoot: String
    public var backupDirectory: String
    public var manifest: BaselineManifest
    /// Where replaced files are kept; nil keeps nothing.
    public var quarantine: Quarantine?
    /// Move `extra` files into the quarantine (needs one); otherwise they are left in place.
    public var quarantineExtras: Bool
    /// Why this restore runs, for the quarantine record.
    public var reason: String

    public init(
        venvRoot: String, backupDirectory: String, manifest: BaselineManifest, quarantine: Quarantine? = nil,
        quarantineExtras: Bool = false, reason: String = "drift"
    ) {
        self.venvRoot = venvRoot
        self.backupDirectory = backupDirectory
        self.manifest = manifest
        self.quarantine = quarantine
        self.quarantineExtras = quarantineExtras
        self.reason = reason
    }

    /// What a restore did.
    public struct Outcome: Sendable, Equatable {
        /// Files replaced or whose mode and owner were put back.
        public var files: [BaselineFile]
        /// Extra files moved into the quarantine (record paths).
        public var movedExtras: [String] = []
        /// The quarantine directory of this restore, when something was kept.
        public var quarantineDirectory: String?
        /// Why the quarantine could not keep something; the restore went on regardless: healing
        /// the service matters more than keeping evidence.
        public var quarantineProblems: [String] = []
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

    /// Drifts a restore never touches: `extra` files have no known-good copy to put back, and
    /// deleting code is not a restore.
    public static func leftInPlace(_ drifts: [FileDrift]) -> [FileDrift] {
        drifts.filter { $0.kind == .extra }
    }

    /// Extras this restore leaves in place: all of them, unless they go to the quarantine.
    public func leftInPlace(_ drifts: [FileDrift]) -> [FileDrift] {
        movesExtras ? [] : Self.leftInPlace(drifts)
    }

    var movesExtras: Bool { quarantineExtras && quarantine != nil }

    /// The known-good files a restore of `drifts` would write or fix the mode of, after checking
    /// each backup copy it would use against the manifest. Changes nothing: `restore --dry-run`
    /// shows this.
    public func plan(_ drifts: [FileDrift]) throws(Failure) -> [BaselineFile] {
        let files = try plannedFiles(for: drifts.filter { $0.kind.isContent })
        try verifyBackup(files)
        return try files + plannedFiles(for: drifts.filter { !$0.kind.isContent })
    }

    /// Restores `drifts` (extras excepted); returns the files replaced or whose mode and owner were
    /// put back, with their digests.
    public func restore(_ drifts: [FileDrift]) throws(Failure) -> [BaselineFile] {
        try restoreReporting(drifts).files
    }

    /// Restores `drifts` and says what was kept in the quarantine and which extras were moved.
    public func restoreReporting(_ drifts: [FileDrift]) throws(Failure) -> Outcome {
        let contentDrifts = drifts.filter { $0.kind.isContent && $0.kind != .extra }
        let files = try plannedFiles(for: contentDrifts)
        try verifyBackup(files)
        let metadataOnly = try plannedFiles(for: drifts.filter { !$0.kind.isContent })

        var staged = [StagedCopy]()
        for file in files {
            Self.testStepPause()
            switch stage(file) {
            case .success(let copy):
                staged.append(copy)
            case .failure(let failure):
                for copy in staged { copy.discard() }
                throw failure
            }
        }

        var outcome = Outcome(files: files + metadataOnly)
        var session = openQuarantine(&outcome)
        if session != nil {
            for drift in contentDrifts {
                do { try session?.keep(venvRoot + "/" + drift.venvPath, drift: drift) } catch {
                    outcome.quarantineProblems.append("\(drift.recordPath): \(error)")
                }
            }
        }

        // Renames cannot be undone as a group; when one fails, the message says which files
        // were already replaced so the report is exact.
        for (index, copy) in staged.enumerated() {
            Self.testStepPause()
            do { try copy.commit() } catch {
                for copy in staged[index...] { copy.discard() }
                if let session, index == 0 { removeTree(session.directory) }
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
        for file in metadataOnly {
            do { try restoreMetadata(file) } catch { throw .repair(error) }
        }
        if movesExtras {
            for drift in drifts where drift.kind == .extra {
                guard Verifier.resolvesInside(Paths.directory(of: venvRoot + "/" + drift.venvPath), venvRoot: venvRoot)
                else { continue }
                do {
                    try session?.move(venvRoot + "/" + drift.venvPath, drift: drift)
                    outcome.movedExtras.append(drift.recordPath)
                } catch {
                    outcome.quarantineProblems.append("\(drift.recordPath): \(error)")
                }
            }
        }
        if let session, let quarantine {
            if session.entries.isEmpty {
                removeTree(session.directory)
                outcome.quarantineDirectory = nil
            } else {
                do { try session.writeRecord(target: quarantine.target, reason: reason) } catch {
                    outcome.quarantineProblems.append("record: \(error)")
                }
                quarantine.prune(keeping: session.directory)
            }
        }
        return outcome
    }

    /// A directory for this restore's kept files, when there is a quarantine and anything to keep.
    private func openQuarantine(_ outcome: inout Outcome) -> QuarantineSession? {
        guard let quarantine else { return nil }
        guard !outcome.files.isEmpty || movesExtras else { return nil }
        do {
            let session = try quarantine.open()
            outcome.quarantineDirectory = session.directory
            return session
        } catch {
            outcome.quarantineProblems.append("\(error)")
            return nil
        }
    }

    /// Test hook: `SITEWARDEN_TEST_STEP_DELAY_US` slows each staging and rename step, so the
    /// fault-injection test's `kill -9` lands in the middle of a restore. Unset in production.
    private static let testStepDelay: UInt32 =
        getenv("SITEWARDEN_TEST_STEP_DELAY_US").flatMap {
            UInt32(String(cString: $0))
        } ?? 0

    private static func testStepPause() {
        if testStepDelay > 0 { usleep(testStepDelay) }
    }

    /// Puts back the recorded mode and owner of a file whose content is intact, in place: no byte
    /// changes, so the uv cache inode it may share keeps its content. The file is opened without
    /// following symlinks and hashed through the same descriptor first, so only the bytes the
    /// baseline vouches for get their permissions back.
    private func restoreMetadata(_ file: BaselineFile) throws(RepairError) {
        let path = venvRoot + "/" + file.venvPath
        guard Verifier.resolvesInside(Paths.directory(of: path), venvRoot: venvRoot) else {
            throw RepairError(
                file: file.recordPath, step: "restore mode and owner",
                cause: "its directory leads out of the venv through a symlink")
        }
        do {
            let descriptor = try FileDescriptor.openRegularFile(path)
            let digest = try sha256(of: descriptor)
            guard digest.hex == file.sha256 else {
                throw RepairError(
                    file: file.recordPath, step: "restore mode and owner",
                    cause: "its content changed since it was verified; not touched")
            }
            if geteuid() == 0 {
                guard fchown(descriptor.rawValue, file.owner, file.group) == 0 else {
                    throw SystemError("fchown", path)
                }
            }
            // fchmod after fchown: chown clears set-id bits.
            guard fchmod(descriptor.rawValue, mode_t(file.mode)) == 0 else { throw SystemError("fchmod", path) }
        } catch let error as RepairError {
            throw error
        } catch {
            throw RepairError(file: file.recordPath, step: "restore mode and owner", cause: "\(error)")
        }
    }

    private func sha256(of descriptor: FileDescriptor) throws(SystemError) -> SHA256Digest {
        let hasher = SHA256Hasher()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = try descriptor.read(into: &buffer)
            if count == 0 { return hasher.finish() }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
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
        for drift in drifts where drift.kind != .extra {
            guard let file = byPath[drift.venvPath] else { throw .noKnownGoodCopy(file: drift.recordPath) }
            // A file judged against something else (the RECORD of another version) is not restored
            // from this baseline: that would write one version's file into another.
            if let expected = drift.expectedSHA256, expected.hex != file.sha256 {
                throw .noKnownGoodCopy(file: drift.recordPath)
            }
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
