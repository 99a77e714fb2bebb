import Glibc

/// What one path is expected to be, from either source.
struct Expectation {
    /// The path as RECORD (or the baseline) writes it, relative to site-packages.
    var recordPath: String
    var record: RecordEntry?
    var baseline: BaselineFile?
    /// Other distributions whose RECORD lists the same path (a shared namespace file), with their hashes.
    var sharedWith: [(distInfo: String, hash: RecordHash?)] = []
}

/// Every path the two sources expect, plus every path any RECORD names at all (hashless rows and
/// other distributions' files included), so extra-file detection knows what somebody installed.
///
/// Paths are venv-relative at this type's surface, but not kept that way: one inside site-packages
/// is kept relative to it (`Key`), the spelling RECORD itself uses, so that the key is the very
/// string RECORD's row holds and a large distribution's tens of thousands of paths are stored once.
/// Expectations live in one array with an index by key, not a dictionary of values, and absolute
/// and venv-relative paths are made when asked for, never kept.
struct Expectations {
    let venvRoot: String
    /// site-packages, absolute, symlinks resolved.
    let sitePackages: String
    let ignore: [String]
    /// site-packages relative to the venv root, e.g. `lib/python3.11/site-packages`.
    let sitePackagesInVenv: String
    /// `sitePackagesInVenv` and `/`: what a `Key` inside site-packages leaves out.
    private let insidePrefix: String
    private var rows: [Row] = []
    /// Row positions by key path: one index for each kind of key, so that a key is a plain string.
    private var insideIndex: [String: Int32] = [:]
    private var outsideIndex: [String: Int32] = [:]
    /// The baseline's files, which rows refer to by position (the manifest's own array, not a copy).
    private var baselineFiles: [BaselineFile] = []
    /// Paths the watched distribution's RECORD or baseline names that have no row here (ignored,
    /// hashless bytecode, RECORD itself, refused): with the rows, everything it installed.
    private var listedOnly: Set<Key> = []
    /// RECORD rows kept whole because their compact form in `Row` cannot say them (a hash other
    /// than canonical sha256, or a path spelled unlike the expectation's), by row position.
    private var unusualRecords: [Int32: RecordEntry] = [:]
    /// The rare fields, by row position: a path as RECORD or the baseline spells it when that is
    /// not the key itself, and the other distributions listing the same path.
    private var spelledRecordPaths: [Int32: String] = [:]
    private var sharers: [Int32: [(distInfo: String, hash: RecordHash?)]] = [:]
    /// Every RECORD of site-packages, and the watched distribution, whose rows are not "others".
    private var others: (index: SitePackagesIndex, excluding: String)?

    /// A path relative to site-packages when `inside`, else relative to the venv root.
    struct Key: Hashable {
        var inside: Bool
        var path: String
    }

    /// An expectation as kept: its baseline file by position in `baselineFiles` (-1: none), and
    /// its RECORD row as the digest, size and line of the usual canonical sha256 row (or in
    /// `unusualRecords`): a large distribution has tens of thousands.
    private struct Row {
        /// `Key.path`; `inside` is `Key.inside`.
        var path: String
        var digest = SHA256Digest.zero
        var size: Int64 = -1
        var line: Int32 = 0
        var baseline: Int32 = -1
        var inside: Bool
        var record = RecordKind.none
        var removed = false
        /// The record path is `path` itself (else it is in `spelledRecordPaths`).
        var recordPathIsKey = true

        var key: Key { Key(inside: inside, path: path) }
    }

    private enum RecordKind: UInt8 {
        case none, hashless, sha256, unusual
    }

    init(venvRoot: String, sitePackages: String, ignore: [String]) {
        self.venvRoot = venvRoot
        self.sitePackages = sitePackages
        self.ignore = ignore
        sitePackagesInVenv = Paths.relative(sitePackages, to: venvRoot)
        insidePrefix = sitePackagesInVenv + "/"
    }

    var isEmpty: Bool { insideIndex.isEmpty && outsideIndex.isEmpty }

    private func position(of key: Key) -> Int32? {
        key.inside ? insideIndex[key.path] : outsideIndex[key.path]
    }

    /// The key of a venv-relative path.
    func key(_ venvPath: String) -> Key {
        guard venvPath.hasPrefix(insidePrefix) else { return Key(inside: false, path: venvPath) }
        return Key(inside: true, path: String(venvPath.utf8.dropFirst(insidePrefix.utf8.count))!)
    }

    /// The key of a normalized absolute path, reusing `recordPath`'s storage when it is the key.
    private func key(absolute: String, recordPath: String) -> Key {
        let venvPath = Paths.relative(absolute, to: venvRoot)
        guard venvPath.hasPrefix(insidePrefix) else { return Key(inside: false, path: venvPath) }
        let tail = venvPath.utf8.dropFirst(insidePrefix.utf8.count)
        return Key(inside: true, path: tail.elementsEqual(recordPath.utf8) ? recordPath : String(tail)!)
    }

    func venvPath(_ key: Key) -> String { key.inside ? insidePrefix + key.path : key.path }
    func absolutePath(_ key: Key) -> String { venvRoot + "/" + venvPath(key) }

    /// The absolute path of a venv-relative one.
    func absolutePath(of venvPath: String) -> String { venvRoot + "/" + venvPath }

    /// The expectations, ordered by venv-relative path, as positions for `expectation(row:)`,
    /// `venvPath(row:)` and `absolutePath(row:)`.
    var orderedRows: [Int32] {
        // Each kind sorted on its own by its key's bytes, then merged: the one comparison that
        // must picture a venv-relative path is made once per row, not per comparison of a sort.
        var inside = [Int32]()
        var outside = [Int32]()
        inside.append(contentsOf: insideIndex.values)
        outside.append(contentsOf: outsideIndex.values)
        rows.withUnsafeBufferPointer { rows in
            inside.sort { Paths.bytewiseBefore(rows[Int($0)].path, rows[Int($1)].path) }
            outside.sort { Paths.bytewiseBefore(rows[Int($0)].path, rows[Int($1)].path) }
        }
        var order = [Int32]()
        order.reserveCapacity(inside.count + outside.count)
        var (i, o) = (0, 0)
        while i < inside.count || o < outside.count {
            let takeInside =
                o == outside.count
                || (i < inside.count
                    && Self.venvPathPrecedes(rows[Int(inside[i])].key, rows[Int(outside[o])].key, prefix: insidePrefix))
            if takeInside {
                order.append(inside[i])
                i += 1
            } else {
                order.append(outside[o])
                o += 1
            }
        }
        return order
    }

    func expectation(row: Int32) -> Expectation { expectation(row: Int(row)) }
    func key(row: Int32) -> Key { rows[Int(row)].key }
    func venvPath(row: Int32) -> String { venvPath(rows[Int(row)].key) }
    func absolutePath(row: Int32) -> String { absolutePath(rows[Int(row)].key) }
    /// True for a path inside site-packages.
    func isInSitePackages(row: Int32) -> Bool { rows[Int(row)].inside }

    private func recordPath(row position: Int) -> String {
        rows[position].recordPathIsKey ? rows[position].path : spelledRecordPaths[Int32(position)]!
    }

    private func expectation(row position: Int) -> Expectation {
        let row = rows[position]
        let recordPath = recordPath(row: position)
        let record: RecordEntry?
        switch row.record {
        case .none: record = nil
        case .unusual: record = unusualRecords[Int32(position)]
        case .hashless, .sha256:
            record = RecordEntry(
                path: recordPath, hash: row.record == .sha256 ? RecordHash(sha256: row.digest) : nil,
                size: row.size >= 0 ? Int(row.size) : nil, line: Int(row.line))
        }
        return Expectation(
            recordPath: recordPath, record: record,
            baseline: row.baseline >= 0 ? baselineFiles[Int(row.baseline)] : nil,
            sharedWith: sharers[Int32(position)] ?? [])
    }

    /// Drops one expectation: its path is neither verified nor restored.
    mutating func remove(row: Int32) {
        rows[Int(row)].removed = true
        let key = rows[Int(row)].key
        listedOnly.insert(key)
        if key.inside { insideIndex[key.path] = nil } else { outsideIndex[key.path] = nil }
    }

    func isRemoved(row: Int32) -> Bool { rows[Int(row)].removed }

    /// Whether `lhs`'s venv-relative path sorts before `rhs`'s, bytewise, without making either.
    private static func venvPathPrecedes(_ lhs: Key, _ rhs: Key, prefix: String) -> Bool {
        if lhs.inside == rhs.inside { return lhs.path.utf8.lexicographicallyPrecedes(rhs.path.utf8) }
        var left = (lhs.inside ? prefix.utf8 : lhs.path.utf8).makeIterator()
        var leftTail = (lhs.inside ? lhs.path.utf8 : "".utf8).makeIterator()
        var right = (rhs.inside ? prefix.utf8 : rhs.path.utf8).makeIterator()
        var rightTail = (rhs.inside ? rhs.path.utf8 : "".utf8).makeIterator()
        while true {
            let l = left.next() ?? leftTail.next()
            let r = right.next() ?? rightTail.next()
            guard let l else { return r != nil }
            guard let r else { return false }
            if l != r { return l < r }
        }
    }

    /// Keeps `entry` as row `position`'s RECORD row, compactly when it is the usual kind.
    private mutating func setRecord(_ entry: RecordEntry, row position: Int) {
        let digest = entry.hash?.isCanonicalSHA256 == true ? entry.hash?.sha256 : nil
        guard entry.path == recordPath(row: position), entry.line <= Int32.max,
            entry.hash == nil || digest != nil
        else {
            rows[position].record = .unusual
            unusualRecords[Int32(position)] = entry
            return
        }
        unusualRecords[Int32(position)] = nil
        rows[position].record = digest == nil ? .hashless : .sha256
        rows[position].digest = digest ?? .zero
        rows[position].size = entry.size.map(Int64.init) ?? -1
        rows[position].line = Int32(entry.line)
    }

    /// The row for `key`, added when there is none yet.
    private mutating func row(_ key: Key, recordPath: String) -> Int {
        if let existing = position(of: key) { return Int(existing) }
        let position = Int32(rows.count)
        rows.append(Row(path: key.path, inside: key.inside, recordPathIsKey: recordPath == key.path))
        if recordPath != key.path { spelledRecordPaths[position] = recordPath }
        if key.inside { insideIndex[key.path] = position } else { outsideIndex[key.path] = position }
        return Int(position)
    }

    /// True when the path (as RECORD writes it) matches one of the target's `ignore` globs.
    func isIgnored(_ recordPath: String) -> Bool {
        ignore.contains { Glob.matches($0, recordPath) }
    }

    /// Adds RECORD's rows, read row by row when `installed` left RECORD unparsed, and notes each
    /// in `hooks`. Rows outside the venv are refused with a security warning; RECORD's own row and
    /// hashless bytecode only mark the path as installed. Throws when RECORD fails part way.
    mutating func addRecord(
        _ installed: InstalledDistribution, hooks: inout ImportHookEvidence, report: inout VerificationReport
    ) throws(DistributionError) {
        guard installed.record != nil || installed.recordUnparsed else {
            report.warn("\(installed.distInfoName) has no RECORD; verifying against the baseline only")
            return
        }
        // Room for every row up front: growing tens of thousands of rows holds two copies at once.
        let expected = installed.record?.entries.count ?? Record.rowCountBound(ofFile: installed.recordFile)
        rows.reserveCapacity(expected)
        insideIndex.reserveCapacity(expected)

        var entries = 0
        var problems = [RecordProblem]()
        var outside = [String]()
        let ownRecord = installed.distInfoName + "/RECORD"
        try installed.forEachRecordRow { parsed in
            guard case .success(let entry) = parsed else {
                if case .failure(let problem) = parsed { problems.append(problem) }
                return
            }
            entries += 1
            hooks.note(entry.path)
            guard let absolute = Self.lexicallyConfined(entry.path, sitePackages: sitePackages, venvRoot: venvRoot)
            else {
                outside.append(Self.outsideWarning(entry.path))
                return
            }
            let key = key(absolute: absolute, recordPath: entry.path)
            // RECORD cannot hash itself, and pip lists compiled bytecode without a hash: the
            // interpreter rewrites those at will. Any other hashless row is held to existence and size.
            if isIgnored(entry.path) || (entry.hash == nil && (entry.path == ownRecord || entry.path.hasSuffix(".pyc")))
            {
                listedOnly.insert(key)
                return
            }
            setRecord(entry, row: row(key, recordPath: entry.path))
        }
        if entries == 0 {
            report.warn("\(installed.distInfoName)/RECORD lists no files; verifying against the baseline only")
        }
        for problem in problems {
            report.warn("\(installed.distInfoName)/RECORD \(problem)")
        }
        for warning in outside { report.warn(warning) }
    }

    mutating func addBaseline(_ manifest: BaselineManifest, report: inout VerificationReport) {
        baselineFiles = manifest.files
        for (position, file) in manifest.files.enumerated() {
            let absolute = Paths.normalize(venvRoot + "/" + file.venvPath)
            // sitewarden writes normalized paths; any other spelling is refused, not reinterpreted.
            guard !file.venvPath.hasPrefix("/"), Paths.isInside(absolute, root: venvRoot),
                absolute == absolutePath(of: file.venvPath)
            else {
                report.warn(Self.outsideWarning(file.venvPath))
                continue
            }
            let key = key(absolute: absolute, recordPath: file.recordPath)
            guard !isIgnored(file.recordPath) else {
                listedOnly.insert(key)
                continue
            }
            rows[row(key, recordPath: file.recordPath)].baseline = Int32(position)
        }
    }

    /// Reads the RECORD of every other distribution in site-packages, so that files they installed
    /// are neither extras nor fought over when two distributions ship the same path.
    /// `sameDistribution` (the watched one, any version) is skipped: its other versions' files are
    /// not another distribution's. The RECORDs are parsed once for all the targets of a venv.
    mutating func addOtherDistributions(excluding sameDistribution: String) {
        let index = SitePackagesIndex.of(sitePackages: sitePackages, venvRoot: venvRoot)
        others = (index, sameDistribution)
        for position in insideIndex.values.map({ $0 }) + outsideIndex.values.map({ $0 }) {
            let venvPath = venvPath(row: position)
            if index.listedByOther(venvPath, than: sameDistribution) {
                sharers[position] = index.rows(for: venvPath, otherThan: sameDistribution)
            }
        }
    }

    /// The top-level directories of site-packages the distribution's files live in (`tunely` for
    /// `tunely/server.py`), not its dist-info or `.data` directories.
    var packageDirectories: [String] {
        var names = Set<Substring>()
        func note(_ key: Key) {
            guard key.inside else { return }
            let path = key.path
            // Only the first component matters, and only when something lies below it.
            guard let slash = path.utf8.firstIndex(of: UInt8(ascii: "/")), slash != path.utf8.startIndex,
                path.utf8.index(after: slash) != path.utf8.endIndex
            else { return }
            let top = Substring(path.utf8[..<slash])
            if top.hasSuffix(".dist-info") || top.hasSuffix(".data") || top == "__pycache__" { return }
            names.insert(top)
        }
        for path in insideIndex.keys { note(Key(inside: true, path: path)) }
        for key in listedOnly { note(key) }
        return names.map(String.init).sorted()
    }

    /// True when some distribution's RECORD, or the baseline, names the path: somebody installed it.
    func isInstalled(_ venvPath: String) -> Bool {
        let key = key(venvPath)
        return position(of: key) != nil || listedOnly.contains(key)
            || others.map { $0.index.listedByOther(venvPath, than: $0.excluding) } == true
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
