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
    private static let magic = Array("SWSCAN1\n".utf8)
    /// Far beyond any venv (100,000 files of 200-byte paths take 25 MB).
    private static let sizeLimit = 256 << 20

    /// The cache file's path.
    let path: String

    init(path: String) {
        self.path = path
    }

    /// The cache of `target` under `stateDirectory`. Target names may hold any printable text, so
    /// everything but `[A-Za-z0-9_-]` is written as `%XX`; no name becomes `.`, `..` or a path.
    init(stateDirectory: String, target: String) {
        var name = ""
        for byte in target.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                name.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                name += "%" + Hex.encode([byte]).uppercased()
            }
        }
        self.init(path: stateDirectory + "/" + Self.directoryName + "/" + name + ".bin")
    }

    /// The cache's contents, or nil when there is none or it cannot be trusted whole.
    func load() -> Contents? {
        guard let bytes = try? FileDescriptor.readRegularFile(path, limit: Self.sizeLimit) else { return nil }
        return Self.decode(bytes)
    }

    /// Replaces the cache file with `contents`.
    func store(_ contents: Contents) throws(SystemError) {
        let directory = Paths.directory(of: path)
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { throw SystemError("mkdir", directory) }
        let temporary = path + ".tmp.\(getpid())"
        do {
            let file = try FileDescriptor.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o600)
            try file.writeAll(Self.encode(contents))
            try file.sync()
        } catch {
            unlink(temporary)
            throw error
        }
        // The directory is not synced: after a crash the old cache may come back, which is as safe
        // as the new one (every entry is checked against the file's stamp), and a sync per target
        // per cycle cost more than the whole cached scan.
        guard rename(temporary, path) == 0 else {
            let error = SystemError("rename", temporary)
            unlink(temporary)
            throw error
        }
    }

    /// Whether a cache under `stateDirectory` can be kept up to date. A cache that can be read but
    /// not rewritten would never count its scans towards a full rehash, so it is not used at all.
    static func isUsable(stateDirectory: String) -> Bool {
        let directory = stateDirectory + "/" + directoryName
        if access(directory, W_OK) == 0 { return true }
        return errno == ENOENT && access(stateDirectory, W_OK) == 0
    }

    // MARK: Format

    // magic (8) · scansSinceFullRehash u32 · count u32 ·
    // count × (pathLength u32 · path · size i64 · mtime ns i64 · ctime ns i64 · inode u64 · device u64 · sha256 32) ·
    // SHA-256 of all the above (32). Integers little-endian.

    static func encode(_ contents: Contents) -> [UInt8] {
        var bytes = magic
        bytes.reserveCapacity(contents.entries.count * 140 + 64)
        append(UInt32(clamping: contents.scansSinceFullRehash), to: &bytes)
        append(UInt32(contents.entries.count), to: &bytes)
        for (path, entry) in contents.entries {
            append(UInt32(path.utf8.count), to: &bytes)
            bytes += path.utf8
            append(UInt64(bitPattern: entry.stamp.size), to: &bytes)
            append(UInt64(bitPattern: entry.stamp.modifiedNanoseconds), to: &bytes)
            append(UInt64(bitPattern: entry.stamp.changedNanoseconds), to: &bytes)
            append(entry.stamp.inode, to: &bytes)
            append(entry.stamp.device, to: &bytes)
            bytes += entry.digest.bytes
        }
        bytes += SHA256Hasher.digest(of: bytes).bytes
        return bytes
    }

    static func decode(_ bytes: [UInt8]) -> Contents? {
        guard bytes.count >= magic.count + 8 + 32, bytes.starts(with: magic) else { return nil }
        let body = bytes[..<(bytes.count - 32)]
        guard SHA256Hasher.digest(of: body).bytes.elementsEqual(bytes[(bytes.count - 32)...]) else { return nil }

        var reader = Reader(bytes: body, offset: magic.count)
        guard let scans = reader.uint32(), let count = reader.uint32() else { return nil }
        var entries = [String: Entry](minimumCapacity: Int(min(count, 1 << 20)))
        for _ in 0..<count {
            guard let length = reader.uint32(), let path = reader.string(Int(length)),
                let size = reader.uint64(), let modified = reader.uint64(), let changed = reader.uint64(),
                let inode = reader.uint64(), let device = reader.uint64(),
                let digest = reader.take(32).flatMap({ SHA256Digest(bytes: Array($0)) })
            else { return nil }
            let stamp = FileStamp(
                size: Int64(bitPattern: size), modifiedNanoseconds: Int64(bitPattern: modified),
                changedNanoseconds: Int64(bitPattern: changed), inode: inode, device: device)
            entries[path] = Entry(stamp: stamp, digest: digest)
        }
        guard reader.offset == body.endIndex, entries.count == count else { return nil }
        return Contents(scansSinceFullRehash: Int(scans), entries: entries)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    /// Bounds-checked reads over the cache body; every read past the end is nil.
    private struct Reader {
        let bytes: ArraySlice<UInt8>
        var offset: Int

        mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
            guard count >= 0, bytes.endIndex - offset >= count else { return nil }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }

        mutating func uint32() -> UInt32? {
            take(4).map { $0.reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        }

        mutating func uint64() -> UInt64? {
            take(8).map { $0.reversed().reduce(0) { $0 << 8 | UInt64($1) } }
        }

        mutating func string(_ count: Int) -> String? {
            take(count).map { String(decoding: $0, as: UTF8.self) }
        }
    }
}
