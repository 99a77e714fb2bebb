import Foundation

@testable import SitewardenCore

/// A small distribution written straight into a scratch venv's site-packages: its files, a
/// METADATA and a RECORD whose hash column each test spells as it needs.
struct SmallDistribution {
    var name: String
    var version: String
    /// Paths relative to site-packages, and their bytes.
    var files: [(path: String, bytes: [UInt8])]

    var distInfo: String { "\(name)-\(version).dist-info" }

    /// The canonical RECORD hash field: sha256, urlsafe base64 without padding.
    static func canonicalHash(_ bytes: [UInt8]) -> String {
        RecordHash(sha256: SHA256Hasher.digest(of: bytes)).recordField
    }

    /// Writes the files and a RECORD; `row` spells each file's hash and size columns
    /// (default: canonical hash and true size).
    func install(
        into sitePackages: String,
        row: (String, [UInt8]) -> (hash: String, size: String) = { _, bytes in
            (SmallDistribution.canonicalHash(bytes), "\(bytes.count)")
        }
    ) throws {
        let metadata = Array("Metadata-Version: 2.1\nName: \(name)\nVersion: \(version)\n".utf8)
        var record = ""
        for (path, bytes) in files + [(distInfo + "/METADATA", metadata)] {
            let absolute = sitePackages + "/" + path
            try FileManager.default.createDirectory(
                atPath: Paths.directory(of: absolute), withIntermediateDirectories: true)
            try Files.create(absolute, bytes, mode: 0o644)
            let columns = path.hasSuffix("/METADATA") ? (Self.canonicalHash(bytes), "\(bytes.count)") : row(path, bytes)
            record += "\(path),\(columns.0),\(columns.1)\n"
        }
        record += "\(distInfo)/RECORD,,\n"
        try Files.create(sitePackages + "/" + distInfo + "/RECORD", Array(record.utf8), mode: 0o644)
    }
}

extension Scratch {
    func verifier(of distribution: String, version: String?, policy: VerificationPolicy = VerificationPolicy())
        -> Verifier
    {
        Verifier(
            target: distribution, venv: venv, distribution: distribution, version: version,
            backupDirectory: path + "/backup-" + distribution, policy: policy)
    }

    func recorder(of distribution: String, version: String?) -> BaselineRecorder {
        BaselineRecorder(
            venv: venv, distribution: distribution, version: version, backupDirectory: path + "/backup-" + distribution)
    }
}
