import FoundationEssentials
import Glibc

/// Where replaced (damaged) files and moved extras are kept for forensics:
/// `<state_directory>/quarantine/<target>/<timestamp>/<venv path>`, with a `record.json` per restore.
///
/// A damaged file is hard-linked there before the staged copy is renamed over it, so the old inode
/// survives the rename at no cost; when the state directory is on another mount (`EXDEV`) it is
/// copied instead. The whole quarantine is kept under `limit` bytes: the oldest restores go first.
public struct Quarantine: Sendable {
    /// `<state_directory>/quarantine`.
    public var root: String
    public var target: String
    /// Bytes the whole quarantine may hold (all targets); the restore just kept is never removed.
    public var limit: Int

    /// The state directory the quarantine lives in.
    public var stateDirectory: String { Paths.directory(of: root) }

    public init(stateDirectory: String, target: String, limit: Int) {
        self.root = stateDirectory + "/quarantine"
        self.target = target
        self.limit = limit
    }

    /// A new timestamped directory for one restore.
    func open() throws(SystemError) -> QuarantineSession {
        try makeDirectories(Paths.directory(of: root))
        // Quarantined code is evidence, not for everyone's eyes: the root is private.
        if mkdir(root, 0o700) != 0 && errno != EEXIST { throw SystemError("mkdir", root) }
        let targetDirectory = root + "/" + target
        // The configuration allows only plain names; a name that is not one directory below the
        // root would put evidence outside it (`../../x`), so it is refused rather than joined.
        guard Self.isOneComponent(target) else {
            throw SystemError(
                "mkdir", targetDirectory, code: EINVAL,
                reason: "target name '\(target.printable)' is not a single path component")
        }
        if mkdir(targetDirectory, 0o700) != 0 && errno != EEXIST { throw SystemError("mkdir", targetDirectory) }
        let stamp = Self.timestamp()
        var suffix = 0
        while true {
            let directory = targetDirectory + "/" + stamp + (suffix == 0 ? "" : "-\(suffix)")
            if mkdir(directory, 0o700) == 0 { return QuarantineSession(directory: directory) }
            guard errno == EEXIST else { throw SystemError("mkdir", directory) }
            suffix += 1
        }
    }

    /// Removes the oldest restores' directories until the quarantine fits its limit; returns them.
    @discardableResult
    func prune(keeping current: String) -> [String] {
        var sessions = [(stamp: String, path: String, size: Int)]()
        for target in directoryEntries(root) where isPlainDirectory(root + "/" + target) {
            for stamp in directoryEntries(root + "/" + target) where isPlainDirectory(root + "/" + target + "/" + stamp)
            {
                let path = root + "/" + target + "/" + stamp
                sessions.append((stamp, path, treeSize(path)))
            }
        }
        var total = sessions.reduce(0) { $0 + $1.size }
        var removed = [String]()
        for session in sessions.sorted(by: { $0.stamp < $1.stamp }) where total > limit && session.path != current {
            removeTree(session.path)
            total -= session.size
            removed.append(session.path)
        }
        return removed
    }

    /// A name that is exactly one directory entry: not empty, `.` or `..`, no `/` and no NUL.
    static func isOneComponent(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\0")
    }

    /// UTC, sortable, to the microsecond: `20250101T120000.123456Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let micros = String(now.tv_nsec / 1000)
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))."
            + String(repeating: "0", count: 6 - micros.count) + micros + "Z"
    }
}

/// One restore's directory in the quarantine.
struct QuarantineSession {
    let directory: String
    private(set) var entries: [QuarantineRecord.Entry] = []

    init(directory: String) {
        self.directory = directory
    }

    /// Keeps the file now at `path` (a venv file about to be replaced): a hard link to its inode,
    /// or a copy when the quarantine is on another mount. A missing or non-regular file is skipped.
    mutating func keep(_ path: String, drift: FileDrift) throws(SystemError) {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return }
        let kept = try place(drift.venvPath)
        let how: String
        if link(path, kept) == 0 {
            how = "linked"
        } else if errno == EXDEV || errno == EPERM || errno == EMLINK {
            // Another mount, or fs.protected_hardlinks refusing a file we do not own: copy.
            try copyFile(path, to: kept)
            how = "copied"
        } else {
            throw SystemError("link", kept)
        }
        entries.append(.init(drift, kept: how))
    }

    /// Moves an extra file out of the venv into the quarantine: renamed when on the same mount,
    /// otherwise copied, synced, and only then unlinked. Never deleted outright.
    /// Throws, and so is never counted as moved, when there is no regular file at `path` (gone
    /// since the verification, or something else: a FIFO, a symlink), which stays where it is.
    mutating func move(_ path: String, drift: FileDrift) throws(SystemError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw SystemError("lstat", path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SystemError("move", path, code: EINVAL, reason: "not a regular file, left in place")
        }
        let kept = try place(drift.venvPath)
        if rename(path, kept) != 0 {
            guard errno == EXDEV else { throw SystemError("rename", path) }
            try copyFile(path, to: kept)
            guard unlink(path) == 0 else { throw SystemError("unlink", path) }
        }
        entries.append(.init(drift, kept: "moved"))
    }

    /// Writes `record.json`: when, why, and each file's drift and digests.
    func writeRecord(target: String, reason: String) throws(SystemError) {
        let record = QuarantineRecord(
            when: Int(time(nil)), target: target, reason: reason, files: entries)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let bytes = try? encoder.encode(record) else { return }
        let path = directory + "/" + QuarantineRecord.fileName
        let file = try FileDescriptor.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
        try file.writeAll(Array(bytes))
        try file.sync()
    }

    private func place(_ venvPath: String) throws(SystemError) -> String {
        let kept = directory + "/files/" + venvPath
        try makeDirectories(Paths.directory(of: kept))
        return kept
    }
}

/// `record.json` in a quarantine directory.
public struct QuarantineRecord: Codable, Sendable, Equatable {
    public static let fileName = "record.json"

    /// Seconds since the epoch.
    public var when: Int
    public var target: String
    public var reason: String
    public var files: [Entry]

    public struct Entry: Codable, Sendable, Equatable {
        /// The path as RECORD writes it.
        public var file: String
        public var venvPath: String
        /// The drift kind that got it replaced or moved.
        public var drift: String
        public var expectedSHA256: String?
        public var actualSHA256: String?
        public var expectedSize: Int?
        public var actualSize: Int?
        /// `linked`, `copied` (another mount) or `moved` (an extra taken out of the venv).
        public var kept: String

        init(_ drift: FileDrift, kept: String) {
            file = drift.recordPath
            venvPath = drift.venvPath
            self.drift = drift.kind.name
            expectedSHA256 = drift.expectedSHA256?.hex
            actualSHA256 = drift.actualSHA256?.hex
            expectedSize = drift.expectedSize
            actualSize = drift.actualSize
            self.kept = kept
        }
    }
}

/// Copies a regular file into a new file (never following symlinks) and syncs it.
private func copyFile(_ source: String, to destination: String) throws(SystemError) {
    let input = try FileDescriptor.open(source, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
    let output = try FileDescriptor.open(destination, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
    do {
        _ = try copyHashing(input, to: output)
        try output.sync()
    } catch {
        unlink(destination)
        throw error
    }
}

private func isPlainDirectory(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
}

/// Bytes of the regular files below `path`, symlinks not followed.
private func treeSize(_ path: String) -> Int {
    var info = stat()
    guard lstat(path, &info) == 0 else { return 0 }
    switch info.st_mode & S_IFMT {
    case S_IFREG: return Int(info.st_size)
    case S_IFDIR: return directoryEntries(path).reduce(0) { $0 + treeSize(path + "/" + $1) }
    default: return 0
    }
}
