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

    /// Verifies every expected file, observed through `scanner` (its workers and scan cache).
    /// `progress` is called from the scanner's threads as hashing advances (every file and every
    /// 16 MiB), so the daemon's watchdog sees a long scan making progress.
    public func verify(
        scanner: FileScanner = FileScanner(), progress: @escaping @Sendable () -> Void = {}
    ) -> VerificationReport {
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
            if let installed {
                for other in installed.otherDistInfos {
                    report.warnings.append(
                        "\(other) is installed beside \(installed.distInfoName); only the latter is verified")
                }
            }
        } catch {
            // Without a dist-info the baseline alone still says what should be there.
            guard manifest != nil, case .notInstalled = error else {
                report.failure = "\(error)"
                return report
            }
            installed = nil
            report.warnings.append("\(error); verifying against the baseline only")
        }

        if let manifest, let problem = baselineMismatch(manifest, installed: installed) {
            report.failure = problem
            return report
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
        // A missing, empty or unparsable RECORD with no baseline proves nothing: never "healthy".
        guard !expectations.isEmpty else {
            report.failure =
                "\(distribution) has no usable RECORD and no baseline was recorded: nothing to verify against"
            return report
        }

        // A package file or directory swapped for a symlink out of the venv makes Python run code
        // from elsewhere: that is drift, and such a path is never read through.
        let order = expectations.keys.sorted()
        let resolver = PathResolver()
        let confined = order.filter { resolver.resolvesInside(expectations[$0]!.absolutePath, venvRoot: venvRoot) }
        let states = scanner.observe(confined.map { expectations[$0]!.absolutePath }, progress: progress)
        let observed = Dictionary(uniqueKeysWithValues: zip(confined, states))

        for venvPath in order {
            // Hashed while being written: neither drift nor clean yet, and never restored this cycle.
            if case .unstable = observed[venvPath] {
                report.unstable.append(venvPath)
                report.warnings.append(
                    "\(expectations[venvPath]!.recordPath.printable): changed while being hashed; re-checked next cycle"
                )
                continue
            }
            report.filesChecked += 1
            if let drift = classify(expectations[venvPath]!, venvPath: venvPath, state: observed[venvPath]) {
                report.drifts.append(drift)
            }
        }
        return report
    }

    /// A baseline of another version or another venv says nothing about this install: restoring
    /// from it would write the old version's files over a new one.
    private func baselineMismatch(_ manifest: BaselineManifest, installed: InstalledDistribution?) -> String? {
        if InstalledDistribution.normalizeName(manifest.distribution)
            != InstalledDistribution.normalizeName(distribution)
        {
            return "the baseline in \(backupDirectory) is of \(manifest.distribution), not \(distribution)"
        }
        if let installed, manifest.version != installed.version {
            return
                "the baseline in \(backupDirectory) is of \(distribution) \(manifest.version) but \(installed.version) "
                + "is installed; if the upgrade was intended, record a new baseline (sitewarden baseline)"
        }
        let venvRoot = installed?.venvRoot ?? (try? Paths.realPath(venv)) ?? venv
        if manifest.venv != venvRoot {
            return "the baseline in \(backupDirectory) was recorded from \(manifest.venv), not \(venvRoot)"
        }
        return nil
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
            guard
                let absolute = lexicallyConfinedPath(
                    entry.path, sitePackages: installed.sitePackages, venvRoot: venvRoot)
            else {
                report.warnings.append(
                    "security: \(installed.distInfoName)/RECORD line \(entry.line) names \(entry.path.printable), "
                        + "outside the venv; ignored")
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
            guard !file.venvPath.hasPrefix("/"), Paths.isInside(absolute, root: venvRoot) else {
                report.warnings.append(
                    "security: baseline names \(file.venvPath.printable), outside the venv; ignored")
                continue
            }
            expectations[file.venvPath, default: Expectation(recordPath: file.recordPath, absolutePath: absolute)]
                .baseline = file
        }
    }

    /// The absolute path a RECORD row names, or nil when it is absolute or climbs out of the venv.
    /// Rows like these are never read, written or deleted.
    func lexicallyConfinedPath(_ recordPath: String, sitePackages: String, venvRoot: String) -> String? {
        guard !recordPath.hasPrefix("/") else { return nil }
        let lexical = Paths.normalize(sitePackages + "/" + recordPath)
        return Paths.isInside(lexical, root: venvRoot) ? lexical : nil
    }

    /// The path a RECORD row names when it stays inside the venv after symlinks too; nil otherwise.
    func confinedPath(_ recordPath: String, sitePackages: String, venvRoot: String) -> String? {
        guard let lexical = lexicallyConfinedPath(recordPath, sitePackages: sitePackages, venvRoot: venvRoot) else {
            return nil
        }
        return Self.resolvesInside(lexical, venvRoot: venvRoot) ? lexical : nil
    }

    /// True when no symlink on the way to `path` (the file itself included) leads out of the venv.
    static func resolvesInside(_ path: String, venvRoot: String) -> Bool {
        Paths.isInside(Paths.resolveExistingPrefix(path), root: venvRoot)
    }

    /// Compares what was observed with what was expected; nil `state` means the path leads out of the venv.
    private func classify(_ expectation: Expectation, venvPath: String, state: FileState?) -> FileDrift? {
        let expectedDigest =
            expectation.baseline.flatMap { SHA256Digest(hex: $0.sha256) } ?? recordDigest(expectation.record)
        let expectedSize = expectation.baseline?.size ?? expectation.record?.size
        var drift = FileDrift(
            recordPath: expectation.recordPath, venvPath: venvPath, kind: .missing, expectedSHA256: expectedDigest,
            expectedSize: expectedSize, actualSHA256: nil, actualSize: nil,
            disagreesWithRecord: expectation.record != nil,
            disagreesWithBaseline: expectation.baseline != nil)

        guard let state else {
            drift.kind = .leavesVenv
            return drift
        }
        switch state {
        case .missing:
            return drift
        case .notRegularFile:
            drift.kind = .notRegularFile
            return drift
        case .unreadable(let error):
            drift.kind = .unreadable(error)
            return drift
        case .unstable:
            // Set aside by `verify` before classification; an unstable file is never drift.
            return nil
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
        guard let digest = SHA256Digest(hex: baseline.sha256),
            let diagnosis = TruncationDiagnosis.diagnose(
                damaged: expectation.absolutePath, knownGood: knownGood, knownGoodDigest: digest)
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

    /// True when `path` is absent or holds nothing but a backup's pieces, so replacing it loses
    /// nothing else. Recording a baseline replaces the backup directory whole.
    static func mayReplace(_ path: String) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return errno == ENOENT || errno == ENOTDIR }
        guard info.st_mode & S_IFMT == S_IFDIR else { return false }
        return Set(directoryEntries(path)).isSubset(of: [BaselineManifest.fileName, filesDirectory])
    }
}
