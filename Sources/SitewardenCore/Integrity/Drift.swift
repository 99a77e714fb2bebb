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

    /// The word reports use: `modified`, `truncated`, `missing`, …
    public var name: String {
        switch self {
        case .modified: "modified"
        case .truncated: "truncated"
        case .missing: "missing"
        case .notRegularFile: "not-a-regular-file"
        case .leavesVenv: "leaves-venv"
        case .unreadable: "unreadable"
        }
    }
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

    public var description: String {
        switch kind {
        case .truncated(let diagnosis): "\(recordPath): truncated, \(diagnosis)"
        case .modified:
            "\(recordPath): modified (expected \(expectedSize.map(String.init) ?? "?") bytes, found \(actualSize.map(String.init) ?? "?"))"
        case .missing: "\(recordPath): missing"
        case .notRegularFile: "\(recordPath): not a regular file"
        case .leavesVenv: "\(recordPath): leads out of the venv through a symlink"
        case .unreadable(let error): "\(recordPath): unreadable (\(error))"
        }
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
    public var warnings: [String]
    /// Set when verification could not run at all (no venv, no dist-info and no baseline, …).
    public var failure: String?
    /// Venv paths that changed while they were hashed: neither drifted nor verified this time.
    public var unstable: [String] = []

    public var isClean: Bool { drifts.isEmpty && failure == nil }
}
