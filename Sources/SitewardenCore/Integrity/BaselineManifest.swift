import FoundationEssentials
import Glibc

/// The baseline: what a known-good deployment of one distribution looked like, file by file.
///
/// Written by `sitewarden baseline` next to the backup copies it describes, outside the venv,
/// so damage to the venv (RECORD included) cannot rewrite it.
public struct BaselineManifest: Codable, Sendable, Equatable {
    /// Bumped when the layout changes; readers refuse formats they do not know.
    public var format: Int
    public var distribution: String
    public var version: String
    /// The venv root the baseline was recorded from (symlinks resolved).
    public var venv: String
    /// site-packages relative to the venv root, e.g. `lib/python3.11/site-packages`.
    public var sitePackages: String
    /// Seconds since the epoch when the baseline was recorded.
    public var recordedAt: Int
    public var files: [BaselineFile]

    public static let currentFormat = 1
    public static let fileName = "manifest.json"
}

/// One known-good file.
public struct BaselineFile: Codable, Sendable, Equatable {
    /// The path as RECORD writes it (relative to site-packages), used in every report.
    public var recordPath: String
    /// The path relative to the venv root; the backup copy lives at `files/<venvPath>`.
    public var venvPath: String
    public var sha256: String
    public var size: Int
    /// Permission bits (`st_mode & 07777`).
    public var mode: UInt32
    public var owner: UInt32
    public var group: UInt32
}

/// A baseline that cannot be used.
public struct ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String

    public var description: String { "baseline manifest \(path): \(reason)" }
}

extension BaselineManifest {
    /// Reads `<backupDirectory>/manifest.json`; nil when no baseline was ever recorded there.
    public static func load(backupDirectory: String) throws(ManifestError) -> BaselineManifest? {
        let path = backupDirectory + "/" + fileName
        let bytes: [UInt8]
        do {
            bytes = try readWholeFile(path)
        } catch {
            if error.code == ENOENT { return nil }
            throw ManifestError(path: path, reason: "\(error)")
        }
        let manifest: BaselineManifest
        do {
            manifest = try JSONDecoder().decode(BaselineManifest.self, from: Data(bytes))
        } catch {
            throw ManifestError(path: path, reason: "not a valid manifest (\(error))")
        }
        guard manifest.format == currentFormat else {
            throw ManifestError(
                path: path, reason: "format \(manifest.format) is not supported (expected \(currentFormat))")
        }
        return manifest
    }

    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain strings and integers cannot fail.
        return Array(try! encoder.encode(self))
    }
}
