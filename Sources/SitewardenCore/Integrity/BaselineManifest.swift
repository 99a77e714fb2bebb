import FoundationEssentials
import Glibc

/// The baseline: what a known-good deployment of one distribution looked like, file by file.
///
/// Written by `sitewarden baseline` next to the backup copies it describes, outside the venv,
/// so damage to the venv (RECORD included) cannot rewrite it. It carries a checksum of its own
/// content, so an edited or damaged manifest is refused instead of trusted.
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
    /// SHA-256 (hex) of `canonicalContent`, set by `sealed()` and checked by `load`.
    public var checksum: String

    /// 2: the manifest carries its own checksum.
    public static let currentFormat = 2
    public static let fileName = "manifest.json"

    public init(
        format: Int = currentFormat, distribution: String, version: String, venv: String, sitePackages: String,
        recordedAt: Int, files: [BaselineFile], checksum: String = ""
    ) {
        self.format = format
        self.distribution = distribution
        self.version = version
        self.venv = venv
        self.sitePackages = sitePackages
        self.recordedAt = recordedAt
        self.files = files
        self.checksum = checksum
    }
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
    /// The manifest exists but fails its own checksum: the backup cannot be trusted.
    public var damaged: Bool = false

    public var description: String {
        damaged ? "backup damaged: \(reason) (\(path))" : "baseline manifest \(path): \(reason)"
    }
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
        // The format is read first, so an old manifest gets a clear message rather than a decoding error.
        guard let format = try? JSONDecoder().decode(Format.self, from: Data(bytes)).format else {
            throw ManifestError(path: path, reason: "not a valid manifest (no format number)", damaged: true)
        }
        guard format == currentFormat else {
            throw ManifestError(
                path: path,
                reason: "format \(format) is not supported (expected \(currentFormat)); "
                    + "re-record the baseline (sitewarden baseline)")
        }
        let manifest: BaselineManifest
        do {
            manifest = try JSONDecoder().decode(BaselineManifest.self, from: Data(bytes))
        } catch {
            throw ManifestError(path: path, reason: "not a valid manifest (\(error))", damaged: true)
        }
        guard manifest.checksum == manifest.computedChecksum else {
            throw ManifestError(path: path, reason: "manifest checksum mismatch", damaged: true)
        }
        return manifest
    }

    /// The manifest with its checksum set.
    public func sealed() -> BaselineManifest {
        var copy = self
        copy.checksum = computedChecksum
        return copy
    }

    /// The sealed manifest as written to disk.
    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain strings and integers cannot fail.
        return Array(try! encoder.encode(sealed()))
    }

    /// SHA-256 over `canonicalContent`.
    var computedChecksum: String {
        SHA256Hasher.digest(of: canonicalContent).hex
    }

    /// Every field but the checksum, in a fixed order, each string length-prefixed so no two
    /// manifests share a text. Independent of how a JSON encoder spells things.
    var canonicalContent: [UInt8] {
        func text(_ value: String) -> String { "\(value.utf8.count):\(value)" }
        var lines = [
            "sitewarden-manifest \(format)", text(distribution), text(version), text(venv), text(sitePackages),
            "\(recordedAt)", "\(files.count)",
        ]
        for file in files {
            lines.append(
                [
                    text(file.recordPath), text(file.venvPath), text(file.sha256), "\(file.size)", "\(file.mode)",
                    "\(file.owner)", "\(file.group)",
                ].joined(separator: " "))
        }
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    private struct Format: Decodable {
        var format: Int
    }
}
