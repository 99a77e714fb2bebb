import Glibc

/// Checks one installed distribution against its RECORD and its recorded baseline.
///
/// The two sources answer different questions: RECORD says whether the bytes still match the wheel
/// as installed; the baseline says whether they match the last known-good deployment. A file is
/// drifted when either disagrees; the report says which.
public struct Verifier {
    public var target: String
    public var venv: String
    public var distribution: String
    public var version: String?
    public var backupDirectory: String

    public init(target: String, venv: String, distribution: String, version: String?, backupDirectory: String) {
        self.target = target
        self.venv = venv
        self.distribution = distribution
        self.version = version
        self.backupDirectory = backupDirectory
    }

    /// What one path is expected to be, from either source.
    private struct Expectation {
        var recordPath: String
        var absolutePath: String
        var record: RecordEntry?
        var baseline: BaselineFile?
    }

    public func verify() -> VerificationReport {
        var report = VerificationReport(
            target: target, version: nil, filesChecked: 0, drifts: [], warnings: [], failure: nil)

        let manifest: BaselineManifest?
        do {
            manifest = try BaselineManifest.load(backupDirectory: backupDirectory)
        } catch {
            report.failure = "\(error)"
            return report
        }

        let installed: InstalledDistribution?
        do {
            installed = try InstalledDistribution.locate(distribution: distribution, version: version, venv: venv)
            report.version = installed?.version
        } catch {
            // Without a dist-info the baseline alone still says what should be there.
            guard manifest != nil, case .notInstalled = error else {
                report.failure = "\(error)"
                return report
            }
            installed = nil
            report.warnings.append("\(error); verifying against the baseline only")
        }

        let venvRoot: String
        if let installed {
            venvRoot = installed.venvRoot
        } else if let root = try? Paths.realPath(venv) {
            venvRoot = root
        } else {
            report.failure = "venv \(venv) does not exist"
            return report
        }

        var expectations = [String: Expectation]()
        if let installed {
            collectRecord(installed, venvRoot: venvRoot, into: &expectations, report: &report)
        }
        if let manifest {
            collectBaseline(manifest, venvRoot: venvRoot, into: &expectations, report: &report)
        }
        if installed?.record == nil && manifest == nil {
            report.failure = "\(distribution) has no RECORD and no baseline was recorded: nothing to verify against"
            return report
        }

        let hasher = FileHasher()
        for venvPath in expectations.keys.sorted() {
            let expectation = expectations[venvPath]!
            report.filesChecked += 1
            if let drift = check(expectation, venvPath: venvPath, hasher: hasher) {
                report.drifts.append(drift)
            }
        }
        return report
    }

    private func collectRecord(
        _ installed: InstalledDistribution, venvRoot: String, into expectations: inout [String: Expectation],
        report: inout VerificationReport
    ) {
        guard let record = installed.record else {
            report.warnings.append("\(installed.distInfoName) has no RECORD; verifying against the baseline only")
            return
        }
        if record.entries.isEmpty {
            report.warnings.append("\(installed.distInfoName)/RECORD lists no files")
        }
        for problem in record.problems {
            report.warnings.append("\(installed.distInfoName)/RECORD \(problem)")
        }
        for entry in record.entries {
            guard let absolute = confinedPath(entry.path, sitePackages: installed.sitePackages, venvRoot: venvRoot)
            else {
                report.warnings.append(
                    "security: \(installed.distInfoName)/RECORD line \(entry.line) names \(entry.path), outside the venv; ignored"
                )
                continue
            }
            // RECORD cannot hash itself, and pip lists compiled bytecode without a hash: the
            // interpreter rewrites those at will, so only files with a hash are held to one.
            guard entry.hash != nil else { continue }
            let venvPath = Paths.relative(absolute, to: venvRoot)
            expectations[venvPath, default: Expectation(recordPath: entry.path, absolutePath: absolute)].record = entry
        }
    }

    private func collectBaseline(
        _ manifest: BaselineManifest, venvRoot: String, into expectations: inout [String: Expectation],
        report: inout VerificationReport
    ) {
        for file in manifest.files {
            let absolute = Paths.normalize(venvRoot + "/" + file.venvPath)
            guard Paths.isInside(Paths.resolveExistingPrefix(absolute), root: venvRoot) else {
                report.warnings.append(
                    "security: baseline names \(file.venvPath), which resolves outside the venv; ignored")
                continue
            }
            expectations[file.venvPath, default: Expectation(recordPath: file.recordPath, absolutePath: absolute)]
                .baseline = file
        }
    }

    /// The absolute path a RECORD row names, or nil when it leaves the venv lexically or through a symlink.
    func confinedPath(_ recordPath: String, sitePackages: String, venvRoot: String) -> String? {
        guard !recordPath.hasPrefix("/") else { return nil }
        let lexical = Paths.normalize(sitePackages + "/" + recordPath)
        guard Paths.isInside(lexical, root: venvRoot) else { return nil }
        let resolved = Paths.resolveExistingPrefix(lexical)
        guard Paths.isInside(resolved, root: venvRoot) else { return nil }
        return lexical
    }

    private func check(_ expectation: Expectation, venvPath: String, hasher: FileHasher) -> FileDrift? {
        let expectedDigest =
            expectation.baseline.flatMap { SHA256Digest(hex: $0.sha256) } ?? recordDigest(expectation.record)
        let expectedSize = expectation.baseline?.size ?? expectation.record?.size
        var drift = FileDrift(
            recordPath: expectation.recordPath, venvPath: venvPath, kind: .missing, expectedSHA256: expectedDigest,
            expectedSize: expectedSize, actualSHA256: nil, actualSize: nil,
            disagreesWithRecord: expectation.record != nil,
            disagreesWithBaseline: expectation.baseline != nil)

        switch hasher.state(of: expectation.absolutePath) {
        case .missing:
            return drift
        case .notRegularFile:
            drift.kind = .notRegularFile
            return drift
        case .unreadable(let error):
            drift.kind = .unreadable(error)
            return drift
        case .present(let facts):
            drift.actualSHA256 = facts.sha256
            drift.actualSize = facts.size
            drift.disagreesWithRecord = disagrees(facts, with: expectation.record)
            drift.disagreesWithBaseline = expectation.baseline.map { $0.sha256 != facts.sha256.hex } ?? false
            guard drift.disagreesWithRecord || drift.disagreesWithBaseline else { return nil }
            drift.kind = diagnose(expectation, actual: facts)
            return drift
        }
    }

    private func recordDigest(_ entry: RecordEntry?) -> SHA256Digest? {
        guard let hash = entry?.hash, hash.algorithm == "sha256", let bytes = hash.digest else { return nil }
        return SHA256Digest(bytes: bytes)
    }

    private func disagrees(_ facts: FileFacts, with entry: RecordEntry?) -> Bool {
        guard let entry else { return false }
        if let size = entry.size, size != facts.size { return true }
        // TODO(#3): sha384/sha512 rows and unknown algorithms are reported as unverifiable.
        guard let digest = recordDigest(entry) else { return false }
        return digest != facts.sha256
    }

    /// Truncated when the file is a cut-off copy of the known-good backup; modified otherwise.
    private func diagnose(_ expectation: Expectation, actual: FileFacts) -> DriftKind {
        guard let baseline = expectation.baseline, actual.size < baseline.size else { return .modified }
        let knownGood = backupDirectory + "/" + BackupLayout.filesDirectory + "/" + baseline.venvPath
        guard let diagnosis = TruncationDiagnosis.diagnose(damaged: expectation.absolutePath, knownGood: knownGood)
        else {
            return .modified
        }
        return .truncated(diagnosis)
    }
}

/// Where a backup keeps its pieces.
public enum BackupLayout {
    /// The known-good copies, laid out by venv-relative path.
    public static let filesDirectory = "files"
}
