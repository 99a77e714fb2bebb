import Glibc

/// The digests of the last scan, by absolute path, each with the stamp its file had when hashed.
///
/// One file per target in `<state_directory>/scan-cache/`, in a compact binary form closed by a
/// SHA-256 of everything before it: a file that is short, damaged or of another format is ignored
/// whole and rebuilt by the next scan, never trusted in part. Written atomically (temporary file,
/// fsync, rename), so a crash leaves the old cache or the new one.
struct ScanCache: Sendable {
    /// One remembered file.
    struct Entry: Sendable, Equatable {
        var stamp: FileStamp
        var digest: SHA256Digest
    }

    /// What one cache file holds.
    struct Contents: Sendable, Equatable {
        /// How many scans trusted this cache since the last one that hashed every file.
        var scansSinceFullRehash: Int
        var entries: [String: Entry]
    }

    static let directoryName = "scan-cache"
    fileprivate static let magic = Array("SWSCAN3\n".utf8)
    /// magic · scan count · its complement: the count changes on every scan that trusts the cache,
    /// so it sits outside the sealed body and is rewritten in place (`countScanWithoutRehash`).
    static let headerSize = 16
    /// Far beyond any venv (100,000 files of 200-byte paths take 25 MB).
    private static let sizeLimit = 256 << 20

    /// The cache file's path.
    let path: String

    init(path: String) {
        self.path = path
    }

    /// The cache of `target` under `stateDirectory`, named by `stateFileName`.
    init(stateDirectory: String, target: String) {
        self.init(path: stateDirectory + "/" + Self.directoryName + "/" + stateFileName(target) + ".bin")
    }

    /// The cache's contents, or nil when there is none or it cannot be trusted whole.
    func load() -> Contents? {
        guard let bytes = try? FileDescriptor.readRegularFile(path, limit: Self.sizeLimit) else { return nil }
        return Self.decode(bytes)
    }

    /// The cache's entries for paths asked for one at a time, or nil when there is no cache or it
    /// cannot be trusted whole (its seal is checked first, reading the file in pieces).
    func lookup() -> Lookup? {
        SortedReader(path: path, sizeLimit: Self.sizeLimit).map { Lookup(reader: $0, cache: self) }
    }

    /// Answers for paths in increasing bytewise order (how a verification lists its files, and how
    /// `store` writes them) by reading the file alongside, 64 KiB at a time, instead of holding
    /// every path in a dictionary; a path asked for out of order switches to `load()` for the rest.
    /// One caller at a time.
    final class Lookup: @unchecked Sendable {
        private let reader: SortedReader
        private let cache: ScanCache
        private var previous: String?
        private var fallback: [String: Entry]?
        private var failed = false

        fileprivate init(reader: SortedReader, cache: ScanCache) {
            self.reader = reader
            self.cache = cache
        }

        func entry(for path: String) -> Entry? {
            if failed { return nil }
            if let fallback { return fallback[path] }
            if let previous, !Paths.bytewiseBefore(previous, path) {
                guard let contents = cache.load() else {
                    failed = true
                    return nil
                }
                fallback = contents.entries
                return contents.entries[path]
            }
            previous = path
            guard let found = reader.entry(for: path) else {
                failed = true
                return nil
            }
            return found
        }
    }

    /// Reads a cache file's entries in order, in pieces; made only for a file whose header and
    /// seal check out.
    fileprivate final class SortedReader {
        private let file: FileDescriptor
        private var buffer = [UInt8](repeating: 0, count: 65536)
        private var start = 0
        private var end = 0
        private var remaining: Int
        /// The entry read but not yet passed (its path is beyond the last one asked for).
        private var pending: (path: [UInt8], entry: Entry)?
        private var exhausted = false

        init?(path: String, sizeLimit: Int) {
            guard let file = try? FileDescriptor.openRegularFile(path), let info = try? file.stat(),
                info.st_size >= headerSize + 32, info.st_size <= sizeLimit
            else { return nil }
            self.file = file
            // The seal first, in pieces: nothing of a damaged file is trusted.
            var header = [UInt8](repeating: 0, count: headerSize)
            guard (try? file.read(into: &header)) == headerSize,
                header.withUnsafeBytes({ ScanCache.decodeHeader($0) }) != nil
            else { return nil }
            let sealed = Int(info.st_size) - headerSize - 32
            let hasher = SHA256Hasher()
            var left = sealed
            while left > 0 {
                guard let count = try? file.read(into: &buffer, range: 0..<min(buffer.count, left)), count > 0 else {
                    return nil
                }
                buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
                left -= count
            }
            var digest = [UInt8](repeating: 0, count: 32)
            guard (try? file.read(into: &digest)) == 32, hasher.finish().equals(digest),
                lseek(file.rawValue, off_t(headerSize), SEEK_SET) == off_t(headerSize)
            else { return nil }
            remaining = sealed
        }

        /// The entry for `path` (asked for in increasing order): `.some(nil)` when the cache has
        /// none, nil when the file turns out malformed.
        func entry(for path: String) -> Entry?? {
            let wanted = Array(path.utf8)
            while true {
                if pending == nil {
                    guard !exhausted else { return .some(nil) }
                    guard let next = readEntry() else { return nil }
                    guard let next else {
                        exhausted = true
                        return .some(nil)
                    }
                    pending = next
                }
                let current = pending!
                if current.path == wanted {
                    pending = nil
                    return .some(current.entry)
                }
                // The cache's entry is beyond what is asked: none for this path.
                if !current.path.lexicographicallyPrecedes(wanted) { return .some(nil) }
                pending = nil
            }
        }

        /// The next entry; `.some(nil)` at the end of the entries, nil when malformed.
        private func readEntry() -> (path: [UInt8], entry: Entry)?? {
            guard remaining > 0 else { return .some(nil) }
            guard
                let length = take(4)?.withUnsafeBytes({ Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }),
                length <= 1 << 16, let path = take(length), let fields = take(72)
            else { return nil }
            let entry = fields.withUnsafeBytes { raw -> Entry? in
                let stamp = FileStamp(
                    size: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: Int64.self)),
                    modifiedNanoseconds: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: Int64.self)),
                    changedNanoseconds: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: Int64.self)),
                    inode: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)),
                    device: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 32, as: UInt64.self)))
                return SHA256Digest(bytes: UnsafeRawBufferPointer(rebasing: raw[40..<72])).map {
                    Entry(stamp: stamp, digest: $0)
                }
            }
            guard let entry else { return nil }
            return .some((path, entry))
        }

        /// The next `count` bytes of the sealed body; nil past its end.
        private func take(_ count: Int) -> [UInt8]? {
            guard count <= remaining else { return nil }
            if end - start < count {
                if start > 0 {
                    buffer.withUnsafeMutableBytes {
                        $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[start..<end]))
                    }
                    end -= start
                    start = 0
                }
                if buffer.count < count { buffer += [UInt8](repeating: 0, count: count - buffer.count) }
                while end - start < count {
                    guard let read = try? file.read(into: &buffer, range: end..<buffer.count), read > 0 else {
                        return nil
                    }
                    end += read
                }
            }
            defer {
                start += count
                remaining -= count
            }
            return Array(buffer[start..<(start + count)])
        }
    }

    /// Replaces the cache file with `contents`.
    func store(_ contents: Contents) throws(SystemError) {
        let writer = try Writer(self, scansSinceFullRehash: contents.scansSinceFullRehash)
        // In bytewise order of the paths, as `lookup` reads them.
        for (path, entry) in contents.entries.sorted(by: { Paths.bytewiseBefore($0.key, $1.key) }) {
            try writer.append(path: path, entry: entry)
        }
        try writer.commit()
    }

    /// A new cache file, written as its entries come (in bytewise order of their paths, as
    /// `lookup` reads them) through a 64 KiB buffer, and put in place by `commit`: a large venv's
    /// cache (tens of thousands of paths, a few MB) is never built in memory, and the scan that
    /// makes it need not keep its entries. Until `commit` the old cache stays; a writer dropped
    /// uncommitted removes its temporary file.
    final class Writer {
        private let path: String
        private let temporary: String
        private let file: FileDescriptor
        private var body: SealedFileWriter
        private var committed = false

        init(_ cache: ScanCache, scansSinceFullRehash: Int) throws(SystemError) {
            path = cache.path
            let directory = Paths.directory(of: path)
            if mkdir(directory, 0o700) != 0 && errno != EEXIST { throw SystemError("mkdir", directory) }
            temporary = path + ".tmp.\(getpid())"
            file = try FileDescriptor.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o600)
            var header = ByteWriter(magic: ScanCache.magic)
            ScanCache.appendCount(UInt32(clamping: scansSinceFullRehash), to: &header)
            body = SealedFileWriter(file: file, magic: [])
            do {
                try file.writeAll(header.bytes)
            } catch {
                unlink(temporary)
                throw error
            }
        }

        deinit {
            if !committed { unlink(temporary) }
        }

        func append(path: String, entry: Entry) throws(SystemError) {
            body.body.append(path)
            body.body.append(entry.stamp.size)
            body.body.append(entry.stamp.modifiedNanoseconds)
            body.body.append(entry.stamp.changedNanoseconds)
            body.body.append(entry.stamp.inode)
            body.body.append(entry.stamp.device)
            body.body.append(bytes: entry.digest.bytes)
            try body.flushIfFull()
        }

        /// Seals the file, syncs it and renames it over the cache.
        func commit() throws(SystemError) {
            try body.finish()
            try file.sync()
            // The directory is not synced: after a crash the old cache may come back, which is as
            // safe as the new one (every entry is checked against the file's stamp), and a sync per
            // target per cycle cost more than the whole cached scan.
            guard rename(temporary, path) == 0 else { throw SystemError("rename", temporary) }
            committed = true
        }
    }

    /// Removes the temporary files of writes a crash or `kill -9` interrupted (`<name>.tmp.<pid>`,
    /// of caches and snapshots alike): each crash would leave another. Only names of that shape in
    /// sitewarden's own cache directory are touched, and not while the process that names it still
    /// runs: a `check` beside the daemon writes its cache for as long as its scan takes. A reused
    /// pid keeps a leftover only until that process ends. Returns how many were removed.
    @discardableResult
    static func removeInterruptedWrites(stateDirectory: String) -> Int {
        let directory = stateDirectory + "/" + directoryName
        var removed = 0
        for (name, type) in directoryEntriesWithTypes(directory) where type != UInt8(DT_DIR) {
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count >= 3, parts[parts.count - 2] == "tmp", let pid = pid_t(parts[parts.count - 1]), pid > 0
            else { continue }
            // kill(pid, 0) sends nothing: it fails with ESRCH only when no such process exists.
            guard kill(pid, 0) != 0 && errno == ESRCH else { continue }
            if unlink(directory + "/" + name) == 0 { removed += 1 }
        }
        return removed
    }

    /// Whether a cache under `stateDirectory` can be kept up to date. A cache that can be read but
    /// not rewritten would never count its scans towards a full rehash, so it is not used at all.
    static func isUsable(stateDirectory: String) -> Bool {
        let directory = stateDirectory + "/" + directoryName
        if access(directory, W_OK) == 0 { return true }
        return errno == ENOENT && access(stateDirectory, W_OK) == 0
    }

    /// How many scans trusted the cache since the last full rehash, from the header alone; nil
    /// when there is no cache or its header is damaged (the next scan then hashes everything).
    func scansSinceFullRehash() -> Int? {
        guard let file = try? FileDescriptor.open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK) else {
            return nil
        }
        var header = [UInt8](repeating: 0, count: Self.headerSize)
        let count = header.withUnsafeMutableBytes { pread(file.rawValue, $0.baseAddress, $0.count, 0) }
        guard count == Self.headerSize else { return nil }
        return header.withUnsafeBytes { Self.decodeHeader($0) }
    }

    /// Counts one more scan that trusted the cache without rewriting it: a verification whose every
    /// input was unchanged (`VerificationSnapshot`) must still bring the periodic full rehash nearer.
    /// A torn write leaves a count and complement that disagree, which reads as "rehash now".
    func countScanWithoutRehash(_ scans: Int) {
        guard let file = try? FileDescriptor.open(path, O_WRONLY | O_NOFOLLOW | O_NOCTTY) else { return }
        var writer = ByteWriter(magic: [])
        Self.appendCount(UInt32(clamping: scans), to: &writer)
        _ = writer.bytes.withUnsafeBytes { pwrite(file.rawValue, $0.baseAddress, $0.count, off_t(Self.magic.count)) }
    }

    // MARK: Format

    // Header: magic (8) · scansSinceFullRehash u32 · its bitwise complement u32.
    // Body: entries until its end, each pathLength u32 · path · size i64 · mtime ns i64 · ctime ns
    // i64 · inode u64 · device u64 · sha256 32, in bytewise order of the paths; then a SHA-256 of
    // the body (32). Integers little-endian. (SWSCAN2 began the body with the entry count, which a
    // cache written as the scan goes does not know in advance.)

    fileprivate static func appendCount(_ scans: UInt32, to writer: inout ByteWriter) {
        writer.append(scans)
        writer.append(~scans)
    }

    fileprivate static func decodeHeader(_ header: UnsafeRawBufferPointer) -> Int? {
        var reader = ByteReader(header)
        guard let magic = reader.take(Self.magic.count), magic.elementsEqual(Self.magic),
            let scans = reader.integer(UInt32.self), let check = reader.integer(UInt32.self), check == ~scans
        else { return nil }
        return Int(scans)
    }

    static func decode(_ bytes: [UInt8]) -> Contents? {
        bytes.withUnsafeBytes { raw -> Contents? in
            guard raw.count >= headerSize + 32,
                let scans = decodeHeader(UnsafeRawBufferPointer(rebasing: raw[..<headerSize]))
            else { return nil }
            let sealed = UnsafeRawBufferPointer(rebasing: raw[headerSize...])
            guard ByteReader.isSealed(sealed) else { return nil }

            var reader = ByteReader(UnsafeRawBufferPointer(rebasing: sealed[..<(sealed.count - 32)]))
            var entries = [String: Entry]()
            var count = 0
            while !reader.isAtEnd {
                count += 1
                guard let path = reader.string(), let size = reader.integer(Int64.self),
                    let modified = reader.integer(Int64.self), let changed = reader.integer(Int64.self),
                    let inode = reader.integer(UInt64.self), let device = reader.integer(UInt64.self),
                    let digest = reader.take(32).flatMap({ SHA256Digest(bytes: Array($0)) })
                else { return nil }
                let stamp = FileStamp(
                    size: size, modifiedNanoseconds: modified, changedNanoseconds: changed, inode: inode,
                    device: device)
                entries[path] = Entry(stamp: stamp, digest: digest)
            }
            // A path twice is a file no writer of this format made.
            guard entries.count == count else { return nil }
            return Contents(scansSinceFullRehash: scans, entries: entries)
        }
    }
}
