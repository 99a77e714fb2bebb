/// How one file differs from what it should be.
public enum DriftKind: Sendable, Equatable {
    /// Content differs and is not a cut-off copy of the known-good file.
    case modified
    /// Content is a strict prefix of the known-good file.
    case truncated(TruncationDiagnosis)
    case missing
    /// A symlink, directory or device where a regular file belongs.
    case notRegularFile
    /// The path leads out of the venv through a symlink (the file or a directory above it).
    case leavesVenv
    /// The file could not be read; its state is unknown.
    case unreadable(SystemError)
    /// Importable code (`.py`, `.so`, sourceless `.pyc`) in the distribution's package directories
    /// that neither RECORD nor the baseline lists. Never deleted by a restore.
    case extra
    /// Content is intact but the mode bits that matter, the owner or the group changed.
    case metadata

    /// The word reports use: `modified`, `truncated`, `missing`, …
    public var name: String {
        switch self {
        case .modified: "modified"
        case .truncated: "truncated"
        case .missing: "missing"
        case .notRegularFile: "not-a-regular-file"
        case .leavesVenv: "leaves-venv"
        case .unreadable: "unreadable"
        case .extra: "extra"
        case .metadata: "metadata"
        }
    }

    /// True when the file's bytes are in question (everything but `metadata`).
    public var isContent: Bool { self != .metadata }
}

/// Permission bits and ownership of one file.
public struct FileMetadata: Sendable, Equatable, CustomStringConvertible {
    /// Permission bits (`st_mode & 07777`).
    public var mode: UInt32
    public var owner: UInt32
    public var group: UInt32

    public init(mode: UInt32, owner: UInt32, group: UInt32) {
        self.mode = mode
        self.owner = owner
        self.group = group
    }

    public var description: String { "mode \(octal(mode)), owner \(owner):\(group)" }
}

/// `0755`-style text for permission bits.
func octal(_ mode: UInt32) -> String {
    let digits = String(mode, radix: 8)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

/// One drifted file, with what was expected and what was found.
public struct FileDrift: Sendable, Equatable, CustomStringConvertible {
    /// The path as RECORD writes it, e.g. `tunely/server.py`.
    public var recordPath: String
    /// The path relative to the venv root.
    public var venvPath: String
    public var kind: DriftKind
    public var expectedSHA256: SHA256Digest?
    public var expectedSize: Int?
    public var actualSHA256: SHA256Digest?
    public var actualSize: Int?
    /// The file disagrees with RECORD (damage after install).
    public var disagreesWithRecord: Bool
    /// The file disagrees with the recorded known-good baseline.
    public var disagreesWithBaseline: Bool
    /// Mode and ownership the baseline recorded, when it has the file.
    public var expectedMetadata: FileMetadata? = nil
    /// Mode and ownership found, when the file is a regular file.
    public var actualMetadata: FileMetadata? = nil

    public var description: String {
        switch kind {
        case .truncated(let diagnosis): "\(recordPath): truncated, \(diagnosis)"
        case .modified:
            "\(recordPath): modified (expected \(expectedSize.map(String.init) ?? "?") bytes, found \(actualSize.map(String.init) ?? "?"))"
        case .missing: "\(recordPath): missing"
        case .notRegularFile: "\(recordPath): not a regular file"
        case .leavesVenv: "\(recordPath): leads out of the venv through a symlink"
        case .unreadable(let error): "\(recordPath): unreadable (\(error))"
        case .extra: "\(recordPath): extra (importable code no RECORD or baseline lists)"
        case .metadata:
            "\(recordPath): metadata changed (\(actualMetadata.map(\.description) ?? "?"), "
                + "expected \(expectedMetadata.map(\.description) ?? "?"))"
        }
    }
}

/// A distribution whose installed version is not the known-good one.
public struct VersionChange: Sendable, Equatable, CustomStringConvertible {
    /// The known-good version: the baseline's, or the configured one when there is no baseline.
    public var from: String
    /// The version installed now.
    public var to: String
    /// `pin_version = true`: the change is drift, and the baseline's version is restored.
    public var pinned: Bool

    public var description: String {
        pinned
            ? "version drift: \(to) is installed but \(from) is pinned"
            : "version changed: \(from) → \(to)"
    }
}

/// The outcome of verifying one target's distribution.
public struct VerificationReport: Sendable, Equatable {
    public var target: String
    /// The installed version, when the dist-info was found.
    public var version: String?
    public var filesChecked: Int
    public var drifts: [FileDrift]
    /// Things that limit what could be verified: unusable RECORD rows, paths outside the venv, …
    /// Each text appears once.
    public var warnings: [String]
    /// Set when verification could not run at all (no venv, no dist-info and no baseline, …).
    public var failure: String?
    /// Venv paths that changed while they were hashed: neither drifted nor verified this time.
    public var unstable: [String] = []
    /// The failure is a baseline that cannot be trusted (its manifest fails its checksum).
    public var backupDamaged: Bool = false
    /// Set when what is installed is not what RECORD can vouch for (an editable install): the
    /// sources are not covered, so the target is never clean.
    public var notCovered: String? = nil
    /// Another version is installed than the known-good one.
    public var versionChange: VersionChange? = nil
    /// `~name` directories an interrupted install left in site-packages.
    public var installResidue: [String] = []

    public init(
        target: String, version: String?, filesChecked: Int, drifts: [FileDrift], warnings: [String],
        failure: String?
    ) {
        self.target = target
        self.version = version
        self.filesChecked = filesChecked
        self.drifts = drifts
        self.warnings = warnings
        self.failure = failure
    }

    /// Every file verified, nothing drifted, nothing uncovered, the known-good version installed.
    public var isClean: Bool { drifts.isEmpty && failure == nil && notCovered == nil && versionChange == nil }

    /// What keeps the target from being clean besides drift: the failure, the uncovered sources,
    /// the version change; nil when there is none.
    public var problem: String? {
        failure ?? notCovered.map { "not covered: \($0)" } ?? versionChange?.description
    }

    /// Adds a warning unless the same text is already there: one message per path and problem.
    mutating func warn(_ message: String) {
        if !warnings.contains(message) { warnings.append(message) }
    }
}
