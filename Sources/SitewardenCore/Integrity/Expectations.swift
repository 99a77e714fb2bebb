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
/// is kept relative to it (`Key`), the spelling RECORD itself uses. Expectations live in one array
/// of rows; their key paths lie end to end in one byte buffer, found through one open-addressing
/// table of row positions, so that a large distribution's tens of thousands of paths cost their
/// bytes and not a string object each. Absolute and venv-relative paths are made when asked for.
/// Keys are compared by their bytes, as the filesystem compares names (Swift's `String` equality
/// would take a precomposed `é` and a decomposed one for the same file).
struct Expectations {
    let venvRoot: String
    /// site-packages, absolute, symlinks resolved.
    let sitePackages: String
    let ignore: [String]
    /// site-packages relative to the venv root, e.g. `lib/python3.11/site-packages`.
    let sitePackagesInVenv: String
    /// `sitePackagesInVenv` and `/`: what a `Key` inside site-packages leaves out.
    private let insidePrefix: String
    private let insidePrefixBytes: [UInt8]
    private var rows: [Row] = []
    /// Every row's key path, end to end (`Row.pathStart`, `Row.pathLength`).
    private var keyBytes: [UInt8] = []
    /// Row positions by key (`Self.emptySlot` where none), at most half full, probed linearly from
    /// the key's hash; a removed row stays in it and is skipped.
    private var slots: [Int32] = []
    /// Rows not removed.
    private var liveRows = 0
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

    /// A path relative to site-packages when `inside`, else relative to the venv root; equal and
    /// hashed by its bytes, as the filesystem tells names apart.
    struct Key: Hashable {
        var inside: Bool
        var path: String

        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.inside == rhs.inside && lhs.path.utf8.elementsEqual(rhs.path.utf8)
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(inside)
            var path = path
            path.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }
    }

    /// An expectation as kept: its baseline file by position in `baselineFiles` (-1: none), and
    /// its RECORD row as the digest, size and line of the usual canonical sha256 row (or in
    /// `unusualRecords`): a large distribution has tens of thousands.
    private struct Row {
        /// Where `Key.path` lies in `keyBytes`; `inside` is `Key.inside`.
        var pathStart: UInt32
        var pathLength: UInt32
        var digest = SHA256Digest.zero
        var size: Int64 = -1
        var line: Int32 = 0
        var baseline: Int32 = -1
        var inside: Bool
        var record = RecordKind.none
        var removed = false
        /// The record path is the key path itself (else it is in `spelledRecordPaths`).
        var recordPathIsKey = true
    }

    private static let emptySlot: Int32 = -1

    private enum RecordKind: UInt8 {
        case none, hashless, sha256, unusual
    }

    init(venvRoot: String, sitePackages: String, ignore: [String]) {
        self.venvRoot = venvRoot
        self.sitePackages = sitePackages
        self.ignore = ignore
        sitePackagesInVenv = Paths.relative(sitePackages, to: venvRoot)
        insidePrefix = sitePackagesInVenv + "/"
        insidePrefixBytes = Array(insidePrefix.utf8)
    }

    var isEmpty: Bool { liveRows == 0 }

    // MARK: Keys

    /// Row `position`'s key path, as bytes in place.
    private func withKeyBytes<R>(row position: Int, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let row = rows[position]
        return keyBytes.withUnsafeBufferPointer {
            body(UnsafeBufferPointer(rebasing: $0[Int(row.pathStart)..<Int(row.pathStart + row.pathLength)]))
        }
    }

    private func keyPath(row position: Int) -> String {
        withKeyBytes(row: position) { String(decoding: $0, as: UTF8.self) }
    }

    private func key(row position: Int) -> Key { Key(inside: rows[position].inside, path: keyPath(row: position)) }

    /// Seeded per process like a dictionary's, so no RECORD can be written to make its paths collide.
    private static func slotHash(inside: Bool, _ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var hasher = Hasher()
        hasher.combine(inside)
        hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        return hasher.finalize()
    }

    /// The slot holding `key`'s live row, or the empty slot where it would go.
    private func slot(inside: Bool, _ bytes: UnsafeBufferPointer<UInt8>) -> (index: Int, found: Bool) {
        let mask = slots.count - 1
        var index = Self.slotHash(inside: inside, bytes) & mask
        return keyBytes.withUnsafeBufferPointer { stored in
            slots.withUnsafeBufferPointer { slots in
                while true {
                    let position = slots[index]
                    if position == Self.emptySlot { return (index, false) }
                    let row = rows[Int(position)]
                    if !row.removed, row.inside == inside, Int(row.pathLength) == bytes.count,
                        bytes.isEmpty
                            || memcmp(stored.baseAddress! + Int(row.pathStart), bytes.baseAddress!, bytes.count) == 0
                    {
                        return (index, true)
                    }
                    index = (index + 1) & mask
                }
            }
        }
    }

    private func position(of key: Key) -> Int32? {
        guard !slots.isEmpty else { return nil }
        var path = key.path
        return path.withUTF8 { bytes in
            let (index, found) = slot(inside: key.inside, bytes)
            return found ? slots[index] : nil
        }
    }

    /// Room for `count` rows in all (removed ones included: their slots stay) without growing the table.
    private mutating func reserveSlots(_ count: Int) {
        var capacity = max(slots.count, 16)
        while capacity < 2 * count { capacity *= 2 }
        guard capacity > slots.count else { return }
        slots = [Int32](repeating: Self.emptySlot, count: capacity)
        for position in rows.indices where !rows[position].removed {
            let index = withKeyBytes(row: position) { slot(inside: rows[position].inside, $0).index }
            slots[index] = Int32(position)
        }
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
        inside.reserveCapacity(liveRows)
        for position in rows.indices where !rows[position].removed {
            if rows[position].inside { inside.append(Int32(position)) } else { outside.append(Int32(position)) }
        }
        keyBytes.withUnsafeBufferPointer { bytes in
            rows.withUnsafeBufferPointer { rows in
                func path(_ row: Row) -> UnsafeBufferPointer<UInt8> {
                    UnsafeBufferPointer(rebasing: bytes[Int(row.pathStart)..<Int(row.pathStart + row.pathLength)])
                }
                func before(_ lhs: Int32, _ rhs: Int32) -> Bool {
                    Paths.bytewiseBefore(path(rows[Int(lhs)]), path(rows[Int(rhs)]))
                }
                inside.sort(by: before)
                outside.sort(by: before)
            }
        }
        var order = [Int32]()
        order.reserveCapacity(inside.count + outside.count)
        var (i, o) = (0, 0)
        while i < inside.count || o < outside.count {
            let takeInside =
                o == outside.count
                || (i < inside.count
                    && venvPathPrecedes(row: Int(inside[i]), row: Int(outside[o])))
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
    func key(row: Int32) -> Key { key(row: Int(row)) }
    /// `key(row:).path`'s bytes, sharing this value's buffer: no copy, however many are kept.
    func keyBytes(row: Int32) -> ArraySlice<UInt8> {
        let row = rows[Int(row)]
        return keyBytes[Int(row.pathStart)..<Int(row.pathStart + row.pathLength)]
    }
    func venvPath(row: Int32) -> String { venvPath(key(row: Int(row))) }
    func absolutePath(row: Int32) -> String { absolutePath(key(row: Int(row))) }
    /// True for a path inside site-packages.
    func isInSitePackages(row: Int32) -> Bool { rows[Int(row)].inside }

    private func isRecordPath(_ path: String, row position: Int) -> Bool {
        guard rows[position].recordPathIsKey else {
            return spelledRecordPaths[Int32(position)]?.utf8.elementsEqual(path.utf8) == true
        }
        return withKeyBytes(row: position) { $0.elementsEqual(path.utf8) }
    }

    private func recordPath(row position: Int) -> String {
        rows[position].recordPathIsKey ? keyPath(row: position) : spelledRecordPaths[Int32(position)]!
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
        guard !rows[Int(row)].removed else { return }
        listedOnly.insert(key(row: Int(row)))
        // The table keeps its slot, which lookups skip from now on.
        rows[Int(row)].removed = true
        liveRows -= 1
    }

    func isRemoved(row: Int32) -> Bool { rows[Int(row)].removed }

    /// Whether row `lhs`'s venv-relative path sorts before row `rhs`'s, bytewise, without making either.
    private func venvPathPrecedes(row lhs: Int, row rhs: Int) -> Bool {
        let empty = [UInt8]()
        return withKeyBytes(row: lhs) { lhsPath in
            withKeyBytes(row: rhs) { rhsPath in
                empty.withUnsafeBufferPointer { empty in
                    insidePrefixBytes.withUnsafeBufferPointer { prefix in
                        let (lhsInside, rhsInside) = (rows[lhs].inside, rows[rhs].inside)
                        if lhsInside == rhsInside { return lhsPath.lexicographicallyPrecedes(rhsPath) }
                        var left = (lhsInside ? prefix : lhsPath).makeIterator()
                        var leftTail = (lhsInside ? lhsPath : empty).makeIterator()
                        var right = (rhsInside ? prefix : rhsPath).makeIterator()
                        var rightTail = (rhsInside ? rhsPath : empty).makeIterator()
                        while true {
                            let l = left.next() ?? leftTail.next()
                            let r = right.next() ?? rightTail.next()
                            guard let l else { return r != nil }
                            guard let r else { return false }
                            if l != r { return l < r }
                        }
                    }
                }
            }
        }
    }

    /// Keeps `entry` as row `position`'s RECORD row, compactly when it is the usual kind.
    private mutating func setRecord(_ entry: RecordEntry, row position: Int) {
        let digest = entry.hash?.isCanonicalSHA256 == true ? entry.hash?.sha256 : nil
        guard isRecordPath(entry.path, row: position), entry.line <= Int32.max,
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
        reserveSlots(rows.count + 1)
        var path = key.path
        let (index, found) = path.withUTF8 { slot(inside: key.inside, $0) }
        if found { return Int(slots[index]) }
        let position = Int32(rows.count)
        let start = keyBytes.count
        keyBytes.append(contentsOf: key.path.utf8)
        rows.append(
            Row(
                pathStart: UInt32(start), pathLength: UInt32(keyBytes.count - start), inside: key.inside,
                recordPathIsKey: recordPath.utf8.elementsEqual(key.path.utf8)))
        if !rows[Int(position)].recordPathIsKey { spelledRecordPaths[position] = recordPath }
        slots[index] = position
        liveRows += 1
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
        // Room for every row and its path up front: growing tens of thousands of rows holds two
        // copies at once, and a grown buffer keeps up to twice what it holds.
        let (expected, pathBytes) =
            installed.record.map { ($0.entries.count, $0.entries.reduce(0) { $0 + $1.path.utf8.count }) }
            ?? Record.rowAndPathBound(ofFile: installed.recordFile)
        rows.reserveCapacity(rows.count + expected)
        keyBytes.reserveCapacity(keyBytes.count + pathBytes)
        reserveSlots(rows.count + expected)

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
        for position in rows.indices where !rows[position].removed {
            let venvPath = venvPath(row: Int32(position))
            if index.listedByOther(venvPath, than: sameDistribution) {
                sharers[Int32(position)] = index.rows(for: venvPath, otherThan: sameDistribution)
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
        for position in rows.indices where rows[position].inside && !rows[position].removed {
            note(key(row: position))
        }
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
