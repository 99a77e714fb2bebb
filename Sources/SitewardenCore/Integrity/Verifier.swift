import Glibc

/// How strictly one target is judged beyond its files' bytes (`pin_version`, `mode_mask`, `ignore`).
public struct VerificationPolicy: Sendable, Equatable {
    /// Another installed version is drift to undo, not an upgrade to report.
    public var pinVersion: Bool
    /// The permission bits whose change is metadata drift.
    public var modeMask: UInt32
    /// Globs (fnmatch, against paths as RECORD writes them) exempt from verification.
    public var ignore: [String]

    /// setuid, setgid, sticky; every execute bit; group and world write. Read bits and the owner's
    /// write bit are left out: they differ with installers' umasks and grant nothing new.
    public static let defaultModeMask: UInt32 = 0o7133

    public init(pinVersion: Bool = false, modeMask: UInt32 = defaultModeMask, ignore: [String] = []) {
        self.pinVersion = pinVersion
        self.modeMask = modeMask
        self.ignore = ignore
    }
}

/// Checks one installed distribution against its RECORD and its recorded baseline.
///
/// The two sources answer different questions: RECORD says whether the bytes still match the wheel
/// as installed; the baseline says whether they match the last known-good deployment. A file is
/// drifted when either disagrees; the report says which.
public struct Verifier {
    public var target: String
    public var venv: String
    public var distribution: String
    /// The expected version (`version` in the configuration), or nil.
    public var version: String?
    public var backupDirectory: String
    public var policy: VerificationPolicy

    public init(
        target: String, venv: String, distribution: String, version: String?, backupDirectory: String,
        policy: VerificationPolicy = VerificationPolicy()
    ) {
        self.target = target
        self.venv = venv
        self.distribution = distribution
        self.version = version
        self.backupDirectory = backupDirectory
        self.policy = policy
    }

    /// Verifies every expected file, observed through `scanner` (its workers and scan cache).
    /// `progress` is called from the scanner's threads as hashing advances (every file and every
    /// 16 MiB), so the daemon's watchdog sees a long scan making progress.
    ///
    /// When the scanner keeps a cache and nothing the last clean verification read has changed, its
    /// report is reused without reading RECORD or any file (`VerificationSnapshot`).
    public func verify(
        scanner: FileScanner = FileScanner(), progress: @escaping @Sendable () -> Void = {}
    ) -> VerificationReport {
        let key = snapshotKey
        if scanner.cache != nil, let venvRoot = try? Paths.realPath(venv),
            var reused = scanner.reusableReport(key: key, venvRoot: venvRoot)
        {
            reused.target = target
            return reused
        }
        // Taken before anything is read: an input changed after this may not be vouched for.
        let startedAt = scanner.realtimeNanoseconds()
        scanner.beginFreshVerification()
        let (report, inputs) = verifyReadingEverything(scanner: scanner, progress: progress)
        scanner.remember(report, key: key, venvRoot: inputs?.venvRoot, inputs: inputs?.paths, startedAt: startedAt)
        return report
    }

    /// Checks now whether `verify(scanner:)` can reuse the snapshot (see `FileScanner.prepareReuse`).
    public func prepareReuse(scanner: FileScanner) {
        guard scanner.cache != nil, let venvRoot = try? Paths.realPath(venv) else { return }
        scanner.prepareReuse(key: snapshotKey, venvRoot: venvRoot)
    }

    /// A cheap measure of how long verifying takes, for ordering several verifications: the size
    /// in bytes of the RECORD files of the distribution's installed versions (0 when none is found).
    public var workEstimate: Int {
        guard let root = try? Paths.realPath(venv) else { return 0 }
        return InstalledDistribution.recordSizes(distribution: distribution, venvRoot: root)
    }

    /// What a report depends on besides the files: the target's configuration, and the code.
    var snapshotKey: SHA256Digest {
        var writer = ByteWriter(magic: Array("sitewarden \(sitewardenVersion) verification 1\n".utf8))
        writer.append(target)
        writer.append(venv)
        writer.append(distribution)
        writer.append(optional: version)
        writer.append(backupDirectory)
        writer.append(UInt8(policy.pinVersion ? 1 : 0))
        writer.append(policy.modeMask)
        writer.append(policy.ignore)
        return SHA256Hasher.digest(of: writer.bytes)
    }

    /// The whole verification: RECORD, the baseline, every file. Returns with the report the inputs
    /// it read when it got as far as reading files, for `VerificationSnapshot`.
    private func verifyReadingEverything(
        scanner: FileScanner, progress: @escaping @Sendable () -> Void
    ) -> (VerificationReport, (venvRoot: String, paths: [VerificationSnapshot.Input])?) {
        var report = VerificationReport(
            target: target, version: nil, filesChecked: 0, drifts: [], warnings: [], failure: nil)

        let manifest: BaselineManifest?
        do {
            manifest = try BaselineManifest.load(backupDirectory: backupDirectory)
        } catch {
            report.failure = "\(error)"
            report.backupDamaged = error.damaged
            return (report, nil)
        }

        var installed: InstalledDistribution?
        do {
            installed = try locate(preferring: manifest?.version)
            report.version = installed?.version
            if let installed {
                for other in installed.otherDistInfos {
                    report.warn("\(other) is installed beside \(installed.distInfoName); only the latter is verified")
                }
            }
        } catch {
            // Without a dist-info the baseline alone still says what should be there.
            guard manifest != nil, case .notInstalled = error else {
                report.failure = "\(error)"
                return (report, nil)
            }
            installed = nil
            report.warn("\(error); verifying against the baseline only")
        }

        if let manifest, let problem = baselineMismatch(manifest, installed: installed) {
            report.failure = problem
            return (report, nil)
        }

        var judgement = VersionJudgement()
        if let installed {
            judgement = VersionJudgement.judge(
                distribution: distribution, installed: installed.version, configured: version,
                baseline: manifest?.version, pinned: policy.pinVersion)
            if let failure = judgement.failure {
                report.failure = failure
                return (report, nil)
            }
            if let note = judgement.note { report.warn(note) }
            report.versionChange = judgement.change
        }

        let venvRoot: String
        if let installed {
            venvRoot = installed.venvRoot
        } else if let root = try? Paths.realPath(venv) {
            venvRoot = root
        } else {
            report.failure = "venv \(venv) does not exist"
            return (report, nil)
        }

        let sitePackages =
            installed?.sitePackages ?? Paths.normalize(venvRoot + "/" + (manifest?.sitePackages ?? "."))
        var expectations = Expectations(venvRoot: venvRoot, sitePackages: sitePackages, ignore: policy.ignore)
        var editable: String?
        if let installed {
            var hooks = ImportHookEvidence(distInfoName: installed.distInfoName)
            if judgement.useRecord {
                do {
                    try expectations.addRecord(installed, hooks: &hooks, report: &report)
                } catch {
                    report.failure = "\(error)"
                    return (report, nil)
                }
            } else {
                report.warn(
                    "\(installed.distInfoName)/RECORD is not used: \(manifest?.version ?? "?") is pinned, and the "
                        + "baseline judges")
                try? installed.forEachRecordRow { row in
                    if case .success(let entry) = row { hooks.note(entry.path) }
                }
            }
            editable = Self.editableInstall(installed, importHooks: hooks)
        }
        // The expectations hold what they need of RECORD's rows; a large RECORD is not kept twice.
        installed?.record = nil
        let baselineUsed = manifest != nil && judgement.useBaseline
        if let manifest, baselineUsed {
            expectations.addBaseline(manifest, report: &report)
        }
        // A missing, empty or unparsable RECORD with no baseline proves nothing: never "healthy".
        guard !expectations.isEmpty else {
            report.failure =
                "\(distribution) has no usable RECORD and no baseline was recorded: nothing to verify against"
            return (report, nil)
        }
        expectations.addOtherDistributions(excluding: InstalledDistribution.normalizeName(distribution))

        // A package file or directory swapped for a symlink out of the venv makes Python run code
        // from elsewhere: that is drift, and such a path is never read through.
        // Sorted once: tens of thousands of paths for a large distribution.
        var order = expectations.orderedRows
        let everyExpected = order
        refuseVenvDirectoriesLeadingOut(&expectations, order: order, report: &report)
        order.removeAll { expectations.isRemoved(row: $0) }
        // The scan's states go once the files are classified: the extra-file walk below is the other
        // half of a large distribution's peak.
        do {
            let confined = Self.confined(order, expectations: expectations, venvRoot: venvRoot)
            let states = scanner.observe(
                count: confined.count, path: { [expectations] in expectations.absolutePath(row: confined[$0]) },
                progress: progress)

            // `confined` is `order` less the paths leading out: walked side by side, no lookup table.
            var next = 0
            for row in order {
                var state: FileState?
                if next < confined.count, confined[next] == row {
                    state = states[next]
                    next += 1
                    // The file itself was opened without following a symlink, so one that is a
                    // symlink was never read through; where it leads is judged here, for it alone.
                    if case .notRegularFile = state,
                        !Self.resolvesInside(expectations.absolutePath(row: row), venvRoot: venvRoot)
                    {
                        state = nil
                    }
                }
                let expectation = expectations.expectation(row: row)
                let venvPath = expectations.venvPath(row: row)
                // Hashed while being written: neither drift nor clean yet, and never restored this cycle.
                if case .unstable = state {
                    report.unstable.append(venvPath)
                    report.warnings.append(
                        "\(expectation.recordPath.printable): changed while being hashed; re-checked next cycle")
                    continue
                }
                report.filesChecked += 1
                if let drift = classify(
                    expectation, venvPath: venvPath, absolutePath: expectations.absolutePath(row: row), state: state,
                    report: &report)
                {
                    report.drifts.append(drift)
                }
            }
        }
        // Only a scanner that keeps a cache keeps a snapshot, which rests on the directories walked.
        var walked: [String]? = scanner.cache != nil ? [] : nil
        // Listed once: both the walk and the install-shape checks start from them.
        let packageDirectories = expectations.packageDirectories
        report.drifts += extraFiles(
            expectations, in: packageDirectories, baselineUsed: baselineUsed, walked: &walked, progress: progress)
        report.drifts.sort { $0.venvPath < $1.venvPath }
        inspectInstallShape(
            installed, editable: editable, expectations: expectations, packageDirectories: packageDirectories,
            report: &report)
        // Only a scanner that keeps a cache keeps a snapshot; the inputs cost a walk of every path.
        guard scanner.cache != nil, report.drifts.isEmpty, report.unstable.isEmpty else { return (report, nil) }
        let inputs = snapshotInputs(
            installed: installed, venvRoot: venvRoot, sitePackages: sitePackages, expectations: expectations,
            expected: everyExpected, walked: walked ?? [])
        return (report, inputs)
    }

    /// The rows of `order` whose directory no symlink leads out of the venv. The file itself is
    /// not looked at here: the scan opens it with `O_NOFOLLOW`, and a symlink is judged after it
    /// (an `lstat` of every file before the scan cost a tenth of a one-worker check). The
    /// resolver's directories (a megabyte for a large distribution) are gone before the scan.
    private static func confined(_ order: [Int32], expectations: Expectations, venvRoot: String) -> [Int32] {
        let resolver = PathResolver()
        return order.filter { resolver.directoryResolvesInside(expectations.absolutePath(row: $0), venvRoot: venvRoot) }
    }

    /// Every path whose state this verification's outcome rests on (see `VerificationSnapshot`):
    /// what `locate` listed, every RECORD the index read, the manifest, `direct_url.json`, each
    /// expected file with the directories above it, and the directories the extra-file walk listed.
    /// The expected files are named by slices of the expectations' own key paths (`VerificationSnapshot.Input`).
    private func snapshotInputs(
        installed: InstalledDistribution?, venvRoot: String, sitePackages: String, expectations: Expectations,
        expected: [Int32], walked: [String]
    ) -> (venvRoot: String, paths: [VerificationSnapshot.Input]) {
        // Directories and the odd file, as absolute paths; the expected files apart.
        var inputs = Set<String>([venvRoot, backupDirectory + "/" + BaselineManifest.fileName])
        inputs.formUnion(walked)
        let inside = venvRoot + "/"
        func addWithAncestors(_ path: String) {
            var current = path
            // Stops at the venv root, or at a directory already added with everything above it.
            while current.hasPrefix(inside), inputs.insert(current).inserted {
                current = Paths.directory(of: current)
            }
        }
        for lib in ["lib", "lib64"] {
            let directory = venvRoot + "/" + lib
            inputs.insert(directory)
            for entry in directoryEntries(directory) where entry.hasPrefix("python") {
                inputs.insert(directory + "/" + entry)
                inputs.insert(directory + "/" + entry + "/site-packages")
            }
        }
        for directory in InstalledDistribution.sitePackagesDirectories(venvRoot: venvRoot) + [sitePackages] {
            addWithAncestors(directory)
        }
        if let installed {
            // site-packages' own stamp covers dist-info directories appearing, going or renamed.
            for entry in directoryEntries(installed.sitePackages) where entry.hasSuffix(".dist-info") {
                inputs.insert(installed.sitePackages + "/" + entry + "/RECORD")
            }
            inputs.insert(installed.sitePackages + "/" + installed.distInfoName)
            inputs.insert(installed.sitePackages + "/" + installed.distInfoName + "/direct_url.json")
        }
        var lastDirectory = ""
        for row in expected {
            // Files come in order of their paths, so those of one directory mostly follow each other.
            let directory = Paths.directory(of: expectations.absolutePath(row: row))
            if directory != lastDirectory {
                addWithAncestors(directory)
                lastDirectory = directory
            }
        }
        // Every input in one array of its final size: tens of thousands for a large distribution.
        var files = [VerificationSnapshot.Input]()
        files.reserveCapacity(expected.count + inputs.count)
        let sitePackagesHead = expectations.sitePackagesInVenv + "/"
        for row in expected {
            files.append(
                VerificationSnapshot.Input(
                    head: expectations.isInSitePackages(row: row) ? sitePackagesHead : "",
                    bytes: expectations.keyBytes(row: row)))
        }
        let prefix = venvRoot + "/"
        for path in inputs {
            if path == venvRoot {
                files.append(VerificationSnapshot.Input("."))
            } else if !path.hasPrefix(prefix) {
                files.append(VerificationSnapshot.Input(path))
            } else {
                let relative = String(path.utf8.dropFirst(prefix.utf8.count))!
                guard relative.hasPrefix(sitePackagesHead) else {
                    files.append(VerificationSnapshot.Input(relative))
                    continue
                }
                files.append(
                    VerificationSnapshot.Input(
                        head: sitePackagesHead, String(relative.utf8.dropFirst(sitePackagesHead.utf8.count))!))
            }
        }
        return (venvRoot, files)
    }

    /// The installed dist-info: of the configured version, else of the baseline's, else the only one.
    /// An upgrade away from the expected version is found here and judged by `VersionJudgement`.
    private func locate(preferring baselineVersion: String?) throws(DistributionError) -> InstalledDistribution {
        let wanted = version ?? baselineVersion
        do {
            return try InstalledDistribution.locate(
                distribution: distribution, version: wanted, venv: venv, parsingRecord: false)
        } catch {
            guard case .versionNotInstalled(_, _, let found) = error else { throw error }
            if let baselineVersion, baselineVersion != wanted, found.contains(baselineVersion) {
                return try InstalledDistribution.locate(
                    distribution: distribution, version: baselineVersion, venv: venv, parsingRecord: false)
            }
            guard found.count == 1 else { throw error }
            return try InstalledDistribution.locate(
                distribution: distribution, version: found[0], venv: venv, parsingRecord: false)
        }
    }

    /// A baseline of another distribution or another venv says nothing about this install:
    /// restoring from it would write foreign files into it.
    private func baselineMismatch(_ manifest: BaselineManifest, installed: InstalledDistribution?) -> String? {
        if InstalledDistribution.normalizeName(manifest.distribution)
            != InstalledDistribution.normalizeName(distribution)
        {
            return "the baseline in \(backupDirectory) is of \(manifest.distribution), not \(distribution)"
        }
        let venvRoot = installed?.venvRoot ?? (try? Paths.realPath(venv)) ?? venv
        if manifest.venv != venvRoot {
            return "the baseline in \(backupDirectory) was recorded from \(manifest.venv), not \(venvRoot)"
        }
        return nil
    }

    /// A venv directory outside site-packages (`bin`) that is a symlink out of the venv is how the
    /// venv was laid out, not damage sitewarden can undo: its files are refused with one security
    /// warning each, never read or written, instead of failing to restore them every cycle.
    private func refuseVenvDirectoriesLeadingOut(
        _ expectations: inout Expectations, order: [Int32], report: inout VerificationReport
    ) {
        for row in order where !expectations.isInSitePackages(row: row) {
            let directory = Paths.directory(of: expectations.absolutePath(row: row))
            guard !Self.resolvesInside(directory, venvRoot: expectations.venvRoot) else { continue }
            report.warn(
                "security: \(expectations.expectation(row: row).recordPath.printable) is in \(Paths.relative(directory, to: expectations.venvRoot)), "
                    + "which leads out of the venv to \(Paths.resolveExistingPrefix(directory).printable); "
                    + "never read, written or restored")
            expectations.remove(row: row)
        }
    }

    /// The absolute path a RECORD row names, or nil when it is absolute or climbs out of the venv.
    /// Rows like these are never read, written or deleted.
    func lexicallyConfinedPath(_ recordPath: String, sitePackages: String, venvRoot: String) -> String? {
        Expectations.lexicallyConfined(recordPath, sitePackages: sitePackages, venvRoot: venvRoot)
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
