/// What one path is expected to be, from either source.
struct Expectation {
    /// The path as RECORD (or the baseline) writes it, relative to site-packages.
    var recordPath: String
    var record: RecordEntry?
    var baseline: BaselineFile?
    /// Other distributions whose RECORD lists the same path (a shared namespace file), with their hashes.
    var sharedWith: [(distInfo: String, hash: RecordHash?)] = []
}

/// Every path the two sources expect, keyed by venv-relative path, plus every path any RECORD
/// names at all (hashless rows and other distributions' files included), so extra-file detection
/// knows what somebody installed.
///
/// The expectations are kept in one array with an index by path, not a dictionary of values: a
/// large distribution has tens of thousands, and a dictionary's buckets hold a whole value each.
/// Absolute paths are made when asked for (`absolutePath(of:)`), never kept.
struct Expectations {
    let venvRoot: String
    /// site-packages, absolute, symlinks resolved.
    let sitePackages: String
    let ignore: [String]
    private var rows: [Expectation] = []
    private var index: [String: Int32] = [:]
    /// venv-relative paths the watched distribution's RECORD or baseline names, hashless rows included.
    private(set) var ownListed: Set<String> = []
    /// Every RECORD of site-packages, and the watched distribution, whose rows are not "others".
    private var others: (index: SitePackagesIndex, excluding: String)?

    init(venvRoot: String, sitePackages: String, ignore: [String]) {
        self.venvRoot = venvRoot
        self.sitePackages = sitePackages
        self.ignore = ignore
    }

    var isEmpty: Bool { index.isEmpty }
    var orderedPaths: [String] { index.keys.sorted() }
    subscript(venvPath: String) -> Expectation? { index[venvPath].map { rows[Int($0)] } }

    /// The absolute path of a venv-relative one.
    func absolutePath(of venvPath: String) -> String { venvRoot + "/" + venvPath }

    mutating func remove(_ venvPath: String) {
        // The row stays in the array, unreachable: removals are rare and few.
        index[venvPath] = nil
    }

    /// The row for `venvPath`, added when there is none yet.
    private mutating func row(_ venvPath: String, recordPath: String) -> Int {
        if let existing = index[venvPath] { return Int(existing) }
        rows.append(Expectation(recordPath: recordPath))
        index[venvPath] = Int32(rows.count - 1)
        return rows.count - 1
    }

    /// site-packages relative to the venv root, e.g. `lib/python3.11/site-packages`.
    var sitePackagesInVenv: String { Paths.relative(sitePackages, to: venvRoot) }

    /// True when the path (as RECORD writes it) matches one of the target's `ignore` globs.
    func isIgnored(_ recordPath: String) -> Bool {
        ignore.contains { Glob.matches($0, recordPath) }
    }

    /// Adds RECORD's rows. Rows outside the venv are refused with a security warning; RECORD's own
    /// row and hashless bytecode only mark the path as installed.
    mutating func addRecord(_ installed: InstalledDistribution, report: inout VerificationReport) {
        guard let record = installed.record else {
            report.warn("\(installed.distInfoName) has no RECORD; verifying against the baseline only")
            return
        }
        if record.entries.isEmpty {
            report.warn("\(installed.distInfoName)/RECORD lists no files; verifying against the baseline only")
        }
        for problem in record.problems {
            report.warn("\(installed.distInfoName)/RECORD \(problem)")
        }
        rows.reserveCapacity(record.entries.count)
        index.reserveCapacity(record.entries.count)
        ownListed.reserveCapacity(record.entries.count)
        for entry in record.entries {
            guard let absolute = Self.lexicallyConfined(entry.path, sitePackages: sitePackages, venvRoot: venvRoot)
            else {
                report.warn(Self.outsideWarning(entry.path))
                continue
            }
            let venvPath = Paths.relative(absolute, to: venvRoot)
            ownListed.insert(venvPath)
            guard !isIgnored(entry.path) else { continue }
            // RECORD cannot hash itself, and pip lists compiled bytecode without a hash: the
            // interpreter rewrites those at will. Any other hashless row is held to existence and size.
            if entry.hash == nil
                && (entry.path == installed.distInfoName + "/RECORD" || entry.path.hasSuffix(".pyc"))
            {
                continue
            }
            rows[row(venvPath, recordPath: entry.path)].record = entry
        }
    }

    mutating func addBaseline(_ manifest: BaselineManifest, report: inout VerificationReport) {
        for file in manifest.files {
            let absolute = Paths.normalize(venvRoot + "/" + file.venvPath)
            // sitewarden writes normalized paths; any other spelling is refused, not reinterpreted.
            guard !file.venvPath.hasPrefix("/"), Paths.isInside(absolute, root: venvRoot),
                absolute == absolutePath(of: file.venvPath)
            else {
                report.warn(Self.outsideWarning(file.venvPath))
                continue
            }
            ownListed.insert(file.venvPath)
            guard !isIgnored(file.recordPath) else { continue }
            rows[row(file.venvPath, recordPath: file.recordPath)].baseline = file
        }
    }

    /// Reads the RECORD of every other distribution in site-packages, so that files they installed
    /// are neither extras nor fought over when two distributions ship the same path.
    /// `sameDistribution` (the watched one, any version) is skipped: its other versions' files are
    /// not another distribution's. The RECORDs are parsed once for all the targets of a venv.
    mutating func addOtherDistributions(excluding sameDistribution: String) {
        let index = SitePackagesIndex.of(sitePackages: sitePackages, venvRoot: venvRoot)
        others = (index, sameDistribution)
        for (venvPath, row) in self.index where index.listedByOther(venvPath, than: sameDistribution) {
            rows[Int(row)].sharedWith = index.rows(for: venvPath, otherThan: sameDistribution)
        }
    }

    /// The top-level directories of site-packages the distribution's files live in (`tunely` for
    /// `tunely/server.py`), not its dist-info or `.data` directories.
    var packageDirectories: [String] {
        var names = Set<Substring>()
        let prefix = sitePackagesInVenv + "/"
        for venvPath in ownListed where venvPath.hasPrefix(prefix) {
            let inside = venvPath.utf8.dropFirst(prefix.utf8.count)
            // Only the first component matters, and only when something lies below it.
            guard let slash = inside.firstIndex(of: UInt8(ascii: "/")), slash != inside.startIndex,
                inside.index(after: slash) != inside.endIndex
            else { continue }
            let top = Substring(venvPath.utf8[inside.startIndex..<slash])
            if top.hasSuffix(".dist-info") || top.hasSuffix(".data") || top == "__pycache__" { continue }
            names.insert(top)
        }
        return names.map(String.init).sorted()
    }

    /// True when some distribution's RECORD, or the baseline, names the path: somebody installed it.
    func isInstalled(_ venvPath: String) -> Bool {
        ownListed.contains(venvPath) || others.map { $0.index.listedByOther(venvPath, than: $0.excluding) } == true
    }

    static func outsideWarning(_ path: String) -> String {
        "security: \(path.printable) is outside the venv; never read, written or restored"
    }

    /// The absolute path a RECORD row names, or nil when it is absolute or climbs out of the venv.
    static func lexicallyConfined(_ recordPath: String, sitePackages: String, venvRoot: String) -> String? {
        guard !recordPath.hasPrefix("/") else { return nil }
        let lexical = Paths.normalize(sitePackages + "/" + recordPath)
        return Paths.isInside(lexical, root: venvRoot) ? lexical : nil
    }
}
