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
/// Hashes are not kept: a row is named by its RECORD and its place there, and read again in the
/// rare case it is needed (a path two distributions share, or one the baseline expects).
final class SitePackagesIndex: Sendable {
    /// One dist-info directory and the stamp of its RECORD when it was read (nil: no RECORD).
    struct Source: Sendable, Equatable {
        var distInfo: String
        /// `normalizeName` of the distribution name in the directory's name.
        var distribution: String
        var stamp: FileStamp?
    }

    /// A row: where its path lies in `arena`, which source's RECORD, and its place among that
    /// RECORD's parsed entries. A path inside site-packages is kept relative to it (the venv path
    /// less `lib/python3.x/site-packages/`, which every row would repeat); one elsewhere in the
    /// venv (`bin/…`) as its venv path, marked `outside`. Rows are sorted by those two keys, then by
    /// source and place, so the rows of one path are adjacent and in listing order.
    private struct Row: Sendable {
        var offset: UInt32
        var length: UInt32
        var source: Int32
        var entry: Int32

        /// The top bit of `length`.
        var outside: Bool { length & 0x8000_0000 != 0 }
        var byteCount: Int { Int(length & 0x7fff_ffff) }
    }

    let sitePackages: String
    /// site-packages relative to the venv root and followed by `/`: what rows inside it leave out.
    private let sitePackagesPrefix: [UInt8]
    let sources: [Source]
    /// Every row's path, back to back: one allocation instead of a string per row (a large venv
    /// has tens of thousands), which kept a one-target check of such a venv at 20 MB more.
    private let arena: ByteArena
    private let rows: [Row]

    private init(sitePackages: String, prefix: [UInt8], sources: [Source], arena: ByteArena, rows: [Row]) {
        self.sitePackages = sitePackages
        sitePackagesPrefix = prefix
        self.sources = sources
        self.arena = arena
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
            return (source.distInfo, hash(of: row))
        }
    }

    /// The rows whose path is `venvPath`, found by binary search.
    private func rows(listing venvPath: String) -> ArraySlice<Row> {
        var venvPath = venvPath
        return venvPath.withUTF8 { venvPath in
            let outside = !venvPath.starts(with: sitePackagesPrefix)
            let key = outside ? venvPath : UnsafeBufferPointer(rebasing: venvPath[sitePackagesPrefix.count...])
            return arena.withUnsafeBufferPointer { arena in
                var low = 0
                var high = rows.count
                while low < high {
                    let middle = (low + high) / 2
                    if Self.compare(rows[middle], key, outside: outside, in: arena) < 0 {
                        low = middle + 1
                    } else {
                        high = middle
                    }
                }
                var end = low
                while end < rows.count && Self.compare(rows[end], key, outside: outside, in: arena) == 0 { end += 1 }
                return rows[low..<end]
            }
        }
    }

    /// The order of a row's path against `key` (of the kind `outside` says): rows inside
    /// site-packages first, then bytewise.
    private static func compare(
        _ row: Row, _ key: UnsafeBufferPointer<UInt8>, outside: Bool, in arena: UnsafeBufferPointer<UInt8>
    ) -> Int {
        guard row.outside == outside else { return row.outside ? 1 : -1 }
        return compare(bytes(of: row, in: arena), key)
    }

    private static func bytes(of row: Row, in arena: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: arena[Int(row.offset)..<Int(row.offset) + row.byteCount])
    }

    private static func compare(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Int {
        let common = min(left.count, right.count)
        if common > 0 {
            let order = memcmp(left.baseAddress!, right.baseAddress!, common)
            if order != 0 { return Int(order) }
        }
        return left.count - right.count
    }

    /// A row's hash, from its RECORD read again; nil when the RECORD changed since (the row is
    /// then no longer the one indexed, and the next verification rebuilds the index).
    private func hash(of row: Row) -> RecordHash? {
        let source = sources[Int(row.source)]
        guard let bytes = try? readWholeFile(sitePackages + "/" + source.distInfo + "/RECORD") else { return nil }
        let entries = Record(parsing: bytes).entries
        guard Int(row.entry) < entries.count else { return nil }
        return entries[Int(row.entry)].hash
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
        let arena = ByteArena()
        var rows = [Row]()
        let prefix = Array((Paths.relative(sitePackages, to: venvRoot) + "/").utf8)
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
                var venvPath = Paths.relative(absolute, to: venvRoot)
                venvPath.withUTF8 { venvPath in
                    let outside = !venvPath.starts(with: prefix)
                    let kept = outside ? venvPath : UnsafeBufferPointer(rebasing: venvPath[prefix.count...])
                    guard arena.count + kept.count <= Int(UInt32.max), kept.count < 0x8000_0000 else { return }
                    rows.append(
                        Row(
                            offset: UInt32(arena.count), length: UInt32(kept.count) | (outside ? 0x8000_0000 : 0),
                            source: Int32(number), entry: place))
                    arena.append(kept)
                }
            }
        }
        arena.withUnsafeBufferPointer { arena in
            rows.sort { left, right in
                if left.outside != right.outside { return !left.outside }
                let order = compare(bytes(of: left, in: arena), bytes(of: right, in: arena))
                return order != 0 ? order < 0 : (left.source, left.entry) < (right.source, right.entry)
            }
        }
        // Growth by doubling leaves up to half of each buffer unused, kept for as long as the index.
        arena.trim()
        return SitePackagesIndex(
            sitePackages: sitePackages, prefix: prefix, sources: sources, arena: arena, rows: exactly(rows))
    }

    private static func exactly<Element>(_ elements: [Element]) -> [Element] {
        guard elements.capacity > elements.count + elements.count / 8 else { return elements }
        return [Element](unsafeUninitializedCapacity: elements.count) { buffer, initialized in
            initialized = buffer.initialize(fromContentsOf: elements)
        }
    }
}

/// Bytes appended to one buffer grown with `realloc`, which moves a large buffer by remapping its
/// pages instead of copying them: growing to a few MB never holds the old and the new copy at once,
/// as an array's growth does.
final class ByteArena: @unchecked Sendable {
    private var base: UnsafeMutablePointer<UInt8>?
    private(set) var count = 0
    private var capacity = 0

    deinit { free(base) }

    /// Appends while the index is built, on one thread, before the arena is shared.
    func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count > 0 else { return }
        if count + bytes.count > capacity { grow(to: count + bytes.count) }
        (base! + count).update(from: bytes.baseAddress!, count: bytes.count)
        count += bytes.count
    }

    /// Gives back what growth reserved beyond the bytes held.
    func trim() {
        guard capacity > count, count > 0, let shrunk = realloc(base, count) else { return }
        base = shrunk.assumingMemoryBound(to: UInt8.self)
        capacity = count
    }

    func withUnsafeBufferPointer<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        try body(UnsafeBufferPointer(start: base, count: count))
    }

    private func grow(to needed: Int) {
        let wanted = max(needed, capacity * 2, 4096)
        guard let grown = realloc(base, wanted) else { fatalError("out of memory growing an index to \(wanted) bytes") }
        base = grown.assumingMemoryBound(to: UInt8.self)
        capacity = wanted
    }
}
