import Glibc
import Synchronization

/// Every path the RECORDs of one site-packages directory list, parsed once and shared by all the
/// targets of that venv.
///
/// Each target must know what the other distributions installed (extra files, shared namespace
/// files), which read every other RECORD once per target: with 58 targets in one venv, 58 × 57
/// RECORDs were parsed per check, more than half of its CPU time. The index is built once and kept
/// while the site-packages listing and every RECORD's stamp (size, mtime, ctime, inode, device)
/// are what they were, the same trust the scan cache places in a file's stamp.
///
/// A path is kept as its 64-bit fingerprint (Swift's `Hasher`, SipHash keyed with a seed chosen
/// at random for each process), not its bytes: 8 bytes instead of about 100 for each of a large
/// venv's tens of thousands of rows. Two paths share a fingerprint with a chance of one in 2⁶⁴
/// per pair, and the random key leaves no way to make a file name that collides on purpose.
/// Hashes are not kept either: a row is named by its RECORD and its place there, and read again
/// (its path checked against the one asked for) in the rare case it is needed: a path two
/// distributions share, or one the baseline expects.
final class SitePackagesIndex: Sendable {
    /// One dist-info directory and the stamp of its RECORD when it was read (nil: no RECORD).
    struct Source: Sendable, Equatable {
        var distInfo: String
        /// `normalizeName` of the distribution name in the directory's name.
        var distribution: String
        var stamp: FileStamp?
    }

    /// A row: its venv path's fingerprint, which source's RECORD, and its place among that
    /// RECORD's parsed entries. Rows are sorted by fingerprint, then by source and place, so the
    /// rows of one path are adjacent and in listing order.
    private struct Row: Sendable {
        var fingerprint: UInt64
        var source: Int32
        var entry: Int32
    }

    let sitePackages: String
    let venvRoot: String
    let sources: [Source]
    private let rows: [Row]

    private init(sitePackages: String, venvRoot: String, sources: [Source], rows: [Row]) {
        self.sitePackages = sitePackages
        self.venvRoot = venvRoot
        self.sources = sources
        self.rows = rows
    }

    /// True when some RECORD of a distribution other than `distribution` (normalized) lists `venvPath`.
    func listedByOther(_ venvPath: String, than distribution: String) -> Bool {
        rows(listing: venvPath).contains { sources[Int($0.source)].distribution != distribution }
    }

    /// The rows other distributions' RECORDs have for `venvPath`, in dist-info order, with their hashes.
    func rows(for venvPath: String, otherThan distribution: String) -> [(distInfo: String, hash: RecordHash?)] {
        rows(listing: venvPath).compactMap { row in
            let source = sources[Int(row.source)]
            guard source.distribution != distribution else { return nil }
            return (source.distInfo, hash(of: row, venvPath: venvPath))
        }
    }

    /// The rows whose path has `venvPath`'s fingerprint, found by binary search.
    private func rows(listing venvPath: String) -> ArraySlice<Row> {
        let fingerprint = Self.fingerprint(venvPath)
        var low = 0
        var high = rows.count
        while low < high {
            let middle = (low + high) / 2
            if rows[middle].fingerprint < fingerprint { low = middle + 1 } else { high = middle }
        }
        var end = low
        while end < rows.count && rows[end].fingerprint == fingerprint { end += 1 }
        return rows[low..<end]
    }

    private static func fingerprint(_ venvPath: String) -> UInt64 {
        // Of the bytes: a String's hash would give two names of one Unicode form the same one.
        var hasher = Hasher()
        var path = venvPath
        path.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }

    /// A row's hash, from its RECORD read again; nil when that row is no longer one of
    /// `venvPath` (the RECORD changed since, and the next verification rebuilds the index).
    private func hash(of row: Row, venvPath: String) -> RecordHash? {
        let source = sources[Int(row.source)]
        guard let bytes = try? readWholeFile(sitePackages + "/" + source.distInfo + "/RECORD") else { return nil }
        let entries = Record(parsing: bytes).entries
        guard Int(row.entry) < entries.count else { return nil }
        let entry = entries[Int(row.entry)]
        guard
            let absolute = Expectations.lexicallyConfined(entry.path, sitePackages: sitePackages, venvRoot: venvRoot),
            Paths.relative(absolute, to: venvRoot).utf8.elementsEqual(venvPath.utf8)
        else { return nil }
        return entry.hash
    }

    // MARK: Building and reuse

    private static let cache = Mutex<[String: SitePackagesIndex]>([:])

    /// The index of `sitePackages` (absolute, resolved) inside `venvRoot`: the one built before
    /// when nothing it was built from has changed, a new one otherwise.
    /// Verifications running at once wait for one build instead of each building its own.
    static func of(sitePackages: String, venvRoot: String) -> SitePackagesIndex {
        building.withLock { _ in
            let sources = currentSources(sitePackages)
            let key = venvRoot + "\u{0}" + sitePackages
            if let kept = cache.withLock({ $0[key] }), kept.sources == sources { return kept }
            // The old index is dropped first: two of a large venv need not be alive at once.
            cache.withLock { $0[key] = nil }
            let built = build(sources, sitePackages: sitePackages, venvRoot: venvRoot)
            cache.withLock { $0[key] = built }
            return built
        }
    }

    private static let building = Mutex(())

    /// The dist-info directories of `sitePackages` and their RECORDs' stamps, as they are now.
    private static func currentSources(_ sitePackages: String) -> [Source] {
        directoryEntries(sitePackages).compactMap { entry in
            guard entry.hasSuffix(".dist-info") else { return nil }
            let stem = entry.dropLast(".dist-info".count)
            let name = stem.lastIndex(of: "-").map { String(stem[..<$0]) } ?? String(stem)
            var info = stat()
            let record = sitePackages + "/" + entry + "/RECORD"
            let stamp = lstat(record, &info) == 0 && info.st_mode & S_IFMT == S_IFREG ? FileStamp(info) : nil
            return Source(distInfo: entry, distribution: InstalledDistribution.normalizeName(name), stamp: stamp)
        }
    }

    private static func build(_ sources: [Source], sitePackages: String, venvRoot: String) -> SitePackagesIndex {
        var rows = [Row]()
        for (number, source) in sources.enumerated() where source.stamp != nil {
            var place = Int32(0)
            // A RECORD that cannot be read lists nothing here; its own target reports why.
            try? Record.forEachRow(ofFile: sitePackages + "/" + source.distInfo + "/RECORD") { row in
                // Places count the rows that parse, as `Record(parsing:).entries` does.
                guard case .success(let entry) = row else { return }
                defer { place += 1 }
                guard
                    let absolute = Expectations.lexicallyConfined(
                        entry.path, sitePackages: sitePackages, venvRoot: venvRoot)
                else { return }
                let fingerprint = fingerprint(Paths.relative(absolute, to: venvRoot))
                rows.append(Row(fingerprint: fingerprint, source: Int32(number), entry: place))
            }
        }
        rows.sort { ($0.fingerprint, $0.source, $0.entry) < ($1.fingerprint, $1.source, $1.entry) }
        // Growth by doubling leaves up to half of the buffer unused, kept for as long as the index.
        return SitePackagesIndex(sitePackages: sitePackages, venvRoot: venvRoot, sources: sources, rows: exactly(rows))
    }

    private static func exactly<Element>(_ elements: [Element]) -> [Element] {
        guard elements.capacity > elements.count + elements.count / 8 else { return elements }
        return [Element](unsafeUninitializedCapacity: elements.count) { buffer, initialized in
            initialized = buffer.initialize(fromContentsOf: elements)
        }
    }
}
