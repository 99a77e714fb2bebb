import Dispatch
import Glibc
import Synchronization

/// What `lstat` said of one input of a verification: enough to tell that nothing about it changed.
///
/// Any change to a file or a directory's entries moves its ctime, which no unprivileged call can
/// set back; a replaced file or directory has another inode. Mode and owner are kept as well so
/// that a `chmod` within one timestamp tick is seen too.
struct InputStamp: Equatable {
    var size: Int64
    var modified: Int64
    var changed: Int64
    var inode: UInt64
    var device: UInt64
    var mode: UInt32
    var owner: UInt32
    var group: UInt32

    /// Nothing at the path (`ENOENT`, or a path through something that is not a directory).
    static let absent = InputStamp(
        size: 0, modified: 0, changed: 0, inode: 0, device: 0, mode: 0, owner: 0, group: 0)

    static let encodedSize = 5 * 8 + 3 * 4

    init(
        size: Int64, modified: Int64, changed: Int64, inode: UInt64, device: UInt64, mode: UInt32, owner: UInt32,
        group: UInt32
    ) {
        self.size = size
        self.modified = modified
        self.changed = changed
        self.inode = inode
        self.device = device
        self.mode = mode
        self.owner = owner
        self.group = group
    }

    /// The stamp of `path` (relative to `directory`, or absolute), never following a final symlink;
    /// nil when `lstat` failed for another reason than absence: such an input vouches for nothing.
    init?(of path: UnsafePointer<CChar>, in directory: Int32) {
        var info = stat()
        guard fstatat(directory, path, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            guard errno == ENOENT || errno == ENOTDIR else { return nil }
            self = .absent
            return
        }
        self.init(
            size: Int64(info.st_size),
            modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
            changed: Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec),
            inode: UInt64(info.st_ino), device: UInt64(info.st_dev), mode: info.st_mode, owner: info.st_uid,
            group: info.st_gid)
    }

    func append(to writer: inout ByteWriter) {
        writer.append(size)
        writer.append(modified)
        writer.append(changed)
        writer.append(inode)
        writer.append(device)
        writer.append(mode)
        writer.append(owner)
        writer.append(group)
    }

    init?(reading reader: inout ByteReader) {
        guard let size = reader.integer(Int64.self), let modified = reader.integer(Int64.self),
            let changed = reader.integer(Int64.self), let inode = reader.integer(UInt64.self),
            let device = reader.integer(UInt64.self), let mode = reader.integer(UInt32.self),
            let owner = reader.integer(UInt32.self), let group = reader.integer(UInt32.self)
        else { return nil }
        self.init(
            size: size, modified: modified, changed: changed, inode: inode, device: device, mode: mode, owner: owner,
            group: group)
    }
}

/// A clean verification's report with the stamp of everything it read, so that the next
/// verification of an unchanged install reuses the report instead of parsing and hashing again.
///
/// The inputs are every expected file (absent ones too), every directory between them and the venv
/// root, every directory the extra-file walk listed, every RECORD of site-packages, the baseline's
/// manifest and the dist-info's `direct_url.json`; the key covers the target's configuration. A
/// report is only kept when no input changed since shortly before the verification began, so
/// every stamp describes what the verification actually read. Reports with drift, a failure or
/// unstable files are never kept: they are acted on, and must be looked at afresh.
///
/// One file per target beside its scan cache, sealed by a SHA-256 like it; a damaged or foreign
/// file is ignored whole. The scan cache's header counts each reuse, so the periodic full rehash
/// still comes.
struct VerificationSnapshot {
    private static let magic = Array("SWSNAP1\n".utf8)
    private static let sizeLimit = 256 << 20
    /// Directories with fewer inputs are not opened; their inputs are looked up from the venv root.
    private static let smallestOpenedGroup = 4

    let path: String

    /// The snapshot kept beside `cache`.
    init(beside cache: ScanCache) {
        let stem = cache.path.hasSuffix(".bin") ? String(cache.path.dropLast(4)) : cache.path
        path = stem + ".snapshot"
    }

    /// The kept report when it was made under `key` for `venvRoot` and every input is as it was;
    /// nil otherwise. Builds no string per input: the paths are stat'ed straight from the file's
    /// bytes, split over `workers` threads when there are many.
    func reuse(key: SHA256Digest, venvRoot: String, workers: Int = 1) -> VerificationReport? {
        guard let bytes = try? FileDescriptor.readRegularFile(path, limit: Self.sizeLimit) else { return nil }
        return bytes.withUnsafeBytes { raw -> VerificationReport? in
            guard ByteReader.isSealed(raw) else { return nil }
            var reader = ByteReader(UnsafeRawBufferPointer(rebasing: raw[..<(raw.count - 32)]))
            guard let magic = reader.take(Self.magic.count), magic.elementsEqual(Self.magic),
                let storedKey = reader.take(32), storedKey.elementsEqual(key.bytes),
                reader.string() == venvRoot, let report = Self.decodeReport(&reader),
                let count = reader.integer(UInt32.self)
            else { return nil }

            // Where each entry starts, checked for shape before anything is stat'ed.
            var starts = [Int]()
            starts.reserveCapacity(Int(count))
            for _ in 0..<count {
                starts.append(reader.offset)
                guard let directoryLength = reader.integer(UInt16.self), let length = reader.integer(UInt16.self),
                    directoryLength <= length, let name = reader.take(Int(length) + 1), name[Int(length)] == 0,
                    reader.take(InputStamp.encodedSize) != nil
                else { return nil }
            }
            guard reader.isAtEnd else { return nil }

            // More slices than threads, so that a thread done early takes another instead of waiting.
            let parts = workers > 1 ? min(4 * workers, max(1, starts.count / Self.entriesPerThread)) : 1
            let unchanged = Atomic<Int>(0)
            // Read-only for the duration of `concurrentPerform`, which returns before `bytes` goes away.
            nonisolated(unsafe) let body = reader.bytes
            let entryStarts = starts
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let count = entryStarts.count
                let slice = entryStarts[(count * part / parts)..<(count * (part + 1) / parts)]
                if Self.stampsHold(at: slice, in: body, venvRoot: venvRoot) {
                    unchanged.add(1, ordering: .relaxed)
                }
            }
            return unchanged.load(ordering: .relaxed) == parts ? report : nil
        }
    }

    /// Below this many inputs per slice, handing a slice to another thread costs more than it saves.
    private static let entriesPerThread = 512

    /// True when every entry starting at `starts` (already checked for shape) still has its stamp.
    private static func stampsHold(
        at starts: ArraySlice<Int>, in bytes: UnsafeRawBufferPointer, venvRoot: String
    ) -> Bool {
        var directories = DirectoryWalk(venvRoot: venvRoot)
        guard directories.root >= 0 else { return false }
        defer { directories.close() }
        for start in starts {
            // directoryLength u16 · pathLength u16 · path · NUL · stamp
            var reader = ByteReader(bytes, offset: start)
            guard let directoryLength = reader.integer(UInt16.self), let length = reader.integer(UInt16.self),
                let name = reader.take(Int(length) + 1), let stored = InputStamp(reading: &reader)
            else { return false }
            let current = name.withMemoryRebound(to: CChar.self) {
                directories.stamp(of: $0.baseAddress!, directoryLength: Int(directoryLength))
            }
            guard current == stored else { return false }
        }
        return true
    }

    /// Stats paths relative to a descriptor of their directory, kept while consecutive paths share
    /// it: a one-component lookup instead of walking the whole path again for each file. Paths are
    /// written grouped by directory, so each directory is opened once.
    private struct DirectoryWalk {
        let root: Int32
        private var directory: Int32 = -1
        private var directoryPath: UnsafeRawBufferPointer?

        init(venvRoot: String) {
            root = Glibc.open(venvRoot, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        }

        /// `path` is NUL-terminated; its first `directoryLength` bytes name its directory ("" for
        /// the root's own entries), followed by `/` unless empty.
        mutating func stamp(of path: UnsafePointer<CChar>, directoryLength: Int) -> InputStamp? {
            guard directoryLength > 0, path[0] != CChar(UInt8(ascii: "/")) else {
                return InputStamp(of: path, in: root)
            }
            let prefix = UnsafeRawBufferPointer(start: path, count: directoryLength)
            if directoryPath.map({ $0.elementsEqual(prefix) }) != true {
                if directory >= 0 { Glibc.close(directory) }
                // Intermediate symlinks are followed, as a lookup of the whole path would follow them.
                var name = [CChar](repeating: 0, count: directoryLength + 1)
                name.withUnsafeMutableBytes { $0.copyMemory(from: prefix) }
                directory = openat(root, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                directoryPath = prefix
            }
            guard directory >= 0 else { return InputStamp(of: path, in: root) }
            return InputStamp(of: path + directoryLength + 1, in: directory)
        }

        func close() {
            if directory >= 0 { Glibc.close(directory) }
            if root >= 0 { Glibc.close(root) }
        }
    }

    /// One input, named relative to the venv root (`.` for the root itself) or, outside it, by its
    /// absolute path: `head` followed by `tail`. The files inside site-packages share one head
    /// (`lib/python3.x/site-packages/`) and their tail is a slice of the expectations' own buffer
    /// of key paths, so that a large distribution's tens of thousands of inputs are named without
    /// a string or an allocation each.
    struct Input {
        var head: String
        var tail: ArraySlice<UInt8>

        init(head: String = "", _ tail: String) {
            self.head = head
            self.tail = ArraySlice(tail.utf8)
        }

        init(head: String, bytes tail: ArraySlice<UInt8>) {
            self.head = head
            self.tail = tail
        }
    }

    /// Keeps `report` with the stamps of `inputs` when it may be reused: clean of
    /// drift, failure and unstable files, and no input changed after `notChangedSince` (realtime
    /// nanoseconds). Otherwise removes any older snapshot, which no longer describes the install.
    func store(
        _ report: VerificationReport, key: SHA256Digest, venvRoot: String, inputs: [Input], notChangedSince: Int64
    ) {
        guard report.drifts.isEmpty, report.failure == nil, report.unstable.isEmpty, !report.backupDamaged else {
            unlink(path)
            return
        }
        let temporary = path + ".tmp.\(getpid())"
        let written: Bool
        do {
            let file = try FileDescriptor.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o600)
            written = try Self.write(
                report, key: key, venvRoot: venvRoot, inputs: inputs, notChangedSince: notChangedSince, to: file)
        } catch {
            written = false
        }
        guard written else {
            unlink(temporary)
            unlink(path)
            return
        }
        // Neither synced nor its directory: after a crash an older snapshot or none comes back, and
        // either is checked against every stamp before it is believed.
        if rename(temporary, path) != 0 { unlink(temporary) }
    }

    /// Removes the snapshot: the next verification reads everything.
    func discard() {
        unlink(path)
    }

    // MARK: Format

    // magic (8) · key (32) · venvRoot · report · count u32 ·
    // count × (directoryLength u16 · pathLength u16 · path · NUL · size i64 · mtime i64 · ctime i64 · inode u64 · device u64 ·
    // mode u32 · owner u32 · group u32) · SHA-256 of all the above (32). Paths inside the venv are
    // relative to it ("." for the root); others are absolute (directoryLength 0). Entries are
    // grouped by directory, `directoryLength` bytes of the path naming it. Integers little-endian.

    /// Writes the snapshot to `file` as it is made; false when it must not be kept (an input changed
    /// too recently, or a path cannot be written in this format).
    private static func write(
        _ report: VerificationReport, key: SHA256Digest, venvRoot: String, inputs: [Input], notChangedSince: Int64,
        to file: FileDescriptor
    ) throws(SystemError) -> Bool {
        let root = Glibc.open(venvRoot, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard root >= 0 else { return false }
        defer { close(root) }

        var out = SealedFileWriter(file: file, magic: magic)
        out.body.append(bytes: key.bytes)
        out.body.append(venvRoot)
        encodeReport(report, into: &out.body)
        out.body.append(UInt32(inputs.count))
        // Grouped by directory, so that `reuse` opens each directory once; a directory holding
        // only a few inputs (a dist-info's RECORD) costs more to open than to walk to from the root.
        // Any order keeping a directory's inputs together serves: by head, then the tail's parts.
        let heads = Set(inputs.lazy.map(\.head)).sorted()
        let parts = inputs.map { InputName($0, headNumber: heads.firstIndex(of: $0.head)!) }
        // Positions as Int32: a large distribution has tens of thousands of inputs.
        let order = (0..<Int32(inputs.count)).sorted {
            InputName.precedes(parts[Int($0)], inputs[Int($0)], parts[Int($1)], inputs[Int($1)])
        }
        var scratch = [UInt8](repeating: 0, count: 256)
        var run = 0
        while run < order.count {
            // One directory's inputs, consecutive in `order`.
            var end = run + 1
            while end < order.count,
                InputName.sameDirectory(
                    parts[Int(order[run])], inputs[Int(order[run])], parts[Int(order[end])], inputs[Int(order[end])])
            {
                end += 1
            }
            let opened = end - run >= Self.smallestOpenedGroup
            for next in order[run..<end] {
                let position = Int(next)
                let input = inputs[position]
                let length = input.head.utf8.count + input.tail.count
                guard length < Int(UInt16.max), !input.head.utf8.contains(0), !input.tail.contains(0) else {
                    return false
                }
                if scratch.count <= length { scratch = [UInt8](repeating: 0, count: length + 1) }
                scratch.withUnsafeMutableBufferPointer { buffer in
                    var at = 0
                    for byte in input.head.utf8 {
                        buffer[at] = byte
                        at += 1
                    }
                    for byte in input.tail {
                        buffer[at] = byte
                        at += 1
                    }
                    buffer[at] = 0
                }
                let stamp = scratch.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { InputStamp(of: $0.baseAddress!, in: root) }
                }
                guard let stamp else { return false }
                // Changed too recently to be sure the verification read this state and not an earlier one.
                guard stamp == .absent || stamp.changed < notChangedSince else { return false }
                out.body.append(UInt16(opened ? parts[position].directoryLength(input) : 0))
                out.body.append(UInt16(length))
                out.body.append(bytes: scratch[0...length])
                stamp.append(to: &out.body)
                try out.flushIfFull()
            }
            run = end
        }
        try out.finish()
        return true
    }

    /// Where an input's directory ends: the last `/` of its name, in its tail or, when the tail
    /// has none, at the end of its head; no directory for a name without a slash or outside the venv.
    private struct InputName {
        private var head: UInt16
        /// The tail's last `/`, or -1.
        private var slash: Int32
        var outside: Bool

        var headNumber: Int { Int(head) }
        var tailSlash: Int? { slash >= 0 ? Int(slash) : nil }

        init(_ input: Input, headNumber: Int) {
            head = UInt16(truncatingIfNeeded: headNumber)
            outside = input.head.isEmpty && input.tail.first == UInt8(ascii: "/")
            let found =
                outside
                ? nil
                : input.tail.lastIndex(of: UInt8(ascii: "/")).map {
                    $0 - input.tail.startIndex
                }
            slash = found.map { Int32(clamping: $0) } ?? -1
        }

        /// The directory's length within head + tail (without the slash after it).
        func directoryLength(_ input: Input) -> Int {
            if outside { return 0 }
            if let tailSlash { return input.head.utf8.count + tailSlash }
            return max(input.head.utf8.count - 1, 0)
        }

        /// By head, then by the tail's directory, then by the rest, bytewise.
        static func precedes(_ lhs: InputName, _ lhsInput: Input, _ rhs: InputName, _ rhsInput: Input) -> Bool {
            if lhs.headNumber != rhs.headNumber { return lhs.headNumber < rhs.headNumber }
            let left = lhsInput.tail
            let right = rhsInput.tail
            let leftDirectory = left.prefix(lhs.tailSlash ?? 0)
            let rightDirectory = right.prefix(rhs.tailSlash ?? 0)
            if !leftDirectory.elementsEqual(rightDirectory) {
                return leftDirectory.lexicographicallyPrecedes(rightDirectory)
            }
            return left.dropFirst(lhs.tailSlash.map { $0 + 1 } ?? 0).lexicographicallyPrecedes(
                right.dropFirst(rhs.tailSlash.map { $0 + 1 } ?? 0))
        }

        static func sameDirectory(_ lhs: InputName, _ lhsInput: Input, _ rhs: InputName, _ rhsInput: Input) -> Bool {
            guard lhs.headNumber == rhs.headNumber, lhs.outside == rhs.outside, lhs.tailSlash == rhs.tailSlash
            else { return false }
            if lhs.outside { return true }
            return lhsInput.tail.prefix(lhs.tailSlash ?? 0).elementsEqual(rhsInput.tail.prefix(rhs.tailSlash ?? 0))
        }
    }

    // Report: filesChecked u32 · version? · warnings · notCovered? · versionChange (u8 present ·
    // from · to · pinned u8) · installResidue.

    private static func encodeReport(_ report: VerificationReport, into writer: inout ByteWriter) {
        writer.append(UInt32(clamping: report.filesChecked))
        writer.append(optional: report.version)
        writer.append(report.warnings)
        writer.append(optional: report.notCovered)
        writer.append(UInt8(report.versionChange == nil ? 0 : 1))
        if let change = report.versionChange {
            writer.append(change.from)
            writer.append(change.to)
            writer.append(UInt8(change.pinned ? 1 : 0))
        }
        writer.append(report.installResidue)
    }

    private static func decodeReport(_ reader: inout ByteReader) -> VerificationReport? {
        guard let files = reader.integer(UInt32.self), let version = reader.optionalString(),
            let warnings = reader.strings(), let notCovered = reader.optionalString(),
            let hasChange = reader.integer(UInt8.self), hasChange <= 1
        else { return nil }
        var change: VersionChange?
        if hasChange == 1 {
            guard let from = reader.string(), let to = reader.string(), let pinned = reader.integer(UInt8.self),
                pinned <= 1
            else { return nil }
            change = VersionChange(from: from, to: to, pinned: pinned == 1)
        }
        guard let residue = reader.strings() else { return nil }
        var report = VerificationReport(
            target: "", version: version, filesChecked: Int(files), drifts: [], warnings: warnings, failure: nil)
        report.notCovered = notCovered
        report.versionChange = change
        report.installResidue = residue
        return report
    }
}
