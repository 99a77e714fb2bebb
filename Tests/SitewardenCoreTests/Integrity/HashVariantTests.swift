import Foundation
import Testing

@testable import SitewardenCore

/// CASES.md 5: every spelling of RECORD's hash column, on a 22-byte `__init__.py`.
@Suite("RECORD hash field variants")
struct HashVariantTests {
    static let initPy = Array("__version__ = \"1.0.0\"\n".utf8)

    private func install(_ scratch: Scratch, hash: String, size: String = "22") throws {
        let tiny = SmallDistribution(name: "tiny", version: "1.0", files: [("tiny/__init__.py", Self.initPy)])
        try tiny.install(into: scratch.sitePackages) { _, _ in (hash, size) }
    }

    private func damage(_ scratch: Scratch) throws {
        var bytes = Self.initPy
        bytes[15] = UInt8(ascii: "9")
        try Files.overwriteInPlace(scratch.sitePackages + "/tiny/__init__.py", with: Data(bytes))
    }

    static var canonical: String { SmallDistribution.canonicalHash(initPy) }
    static var digest: [UInt8] { SHA256Hasher.digest(of: initPy).bytes }

    static let verifiableSpellings: [String] = [
        canonical,
        canonical + "=",
        canonical.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/"),
        "sha256=" + Hex.encode(digest),
        "sha384=" + Base64.encodeURLSafeUnpadded(EVPHasher.digest(of: initPy, algorithm: .sha384)),
        "sha512=" + Base64.encodeURLSafeUnpadded(EVPHasher.digest(of: initPy, algorithm: .sha512)),
    ]

    @Test(arguments: verifiableSpellings)
    func everyVerifiableSpellingAcceptsTheFileAndCatchesAChangedByte(field: String) throws {
        let scratch = try RealTunely.scratchVenv()
        try install(scratch, hash: field)

        let clean = scratch.verifier(of: "tiny", version: "1.0").verify()
        try damage(scratch)
        let damaged = scratch.verifier(of: "tiny", version: "1.0").verify()

        #expect(clean.isClean && clean.warnings.isEmpty, "\(clean.warnings)")
        #expect(damaged.drifts.map(\.recordPath) == ["tiny/__init__.py"])
        #expect(damaged.drifts.first?.kind == .modified)
    }

    @Test func unknownAlgorithmIsUnverifiableAWarningNotDrift() throws {
        let scratch = try RealTunely.scratchVenv()
        try install(scratch, hash: "sha=" + Self.canonical.dropFirst("sha256=".count))
        try damage(scratch)

        let report = scratch.verifier(of: "tiny", version: "1.0").verify()

        #expect(report.drifts.isEmpty)
        #expect(report.warnings.contains { $0.contains("tiny/__init__.py") && $0.contains("'sha' is unknown") })
        #expect(report.warnings.allSatisfy { $0.contains("unverifiable") })
    }

    @Test func unverifiableRowIsStillJudgedByTheBaseline() throws {
        let scratch = try RealTunely.scratchVenv()
        try install(scratch, hash: "sha=" + Self.canonical.dropFirst("sha256=".count))
        _ = try scratch.recorder(of: "tiny", version: "1.0").record()
        try damage(scratch)

        let report = scratch.verifier(of: "tiny", version: "1.0").verify()

        #expect(report.drifts.map(\.kind) == [.modified])
        #expect(report.drifts.first.map { $0.disagreesWithBaseline && !$0.disagreesWithRecord } == true)
    }

    @Test(arguments: ["md5", "sha1"])
    func weakAlgorithmsAreRefusedAsNotPermittedInWheels(algorithm: String) throws {
        let scratch = try RealTunely.scratchVenv()
        let length = algorithm == "md5" ? 16 : 20
        try install(scratch, hash: "\(algorithm)=" + Hex.encode([UInt8](repeating: 7, count: length)))

        let report = scratch.verifier(of: "tiny", version: "1.0").verify()

        #expect(report.drifts.isEmpty)
        #expect(report.warnings.contains { $0.contains("\(algorithm) is not permitted in wheels") })
    }

    @Test func emptyHashChecksExistenceAndSizeOnly() throws {
        let scratch = try RealTunely.scratchVenv()
        try install(scratch, hash: "")

        try damage(scratch)
        let sameSize = scratch.verifier(of: "tiny", version: "1.0").verify()
        try Files.overwriteInPlace(scratch.sitePackages + "/tiny/__init__.py", with: Data("x = 1\n".utf8))
        let otherSize = scratch.verifier(of: "tiny", version: "1.0").verify()
        unlink(scratch.sitePackages + "/tiny/__init__.py")
        let gone = scratch.verifier(of: "tiny", version: "1.0").verify()

        #expect(sameSize.drifts.isEmpty)
        #expect(otherSize.drifts.map(\.kind) == [.modified])
        #expect(gone.drifts.map(\.kind) == [.missing])
    }

    @Test func sizeDisagreeingWithAMatchingHashIsRecordInconsistentAndTheHashJudges() throws {
        let scratch = try RealTunely.scratchVenv()
        try install(scratch, hash: Self.canonical, size: "23")

        let intact = scratch.verifier(of: "tiny", version: "1.0").verify()
        try damage(scratch)
        let damaged = scratch.verifier(of: "tiny", version: "1.0").verify()

        #expect(intact.drifts.isEmpty)
        #expect(
            intact.warnings == [
                "RECORD inconsistent: line 1 (tiny/__init__.py) says 23 bytes but its sha256 matches the file's "
                    + "22 bytes; the bytes are judged by the hash"
            ])
        #expect(damaged.drifts.map(\.kind) == [.modified])
    }

    @Test func baselineRecordsAFileWhoseSha512RowMatches() throws {
        let scratch = try RealTunely.scratchVenv()
        try install(scratch, hash: Self.verifiableSpellings[5])

        let manifest = try scratch.recorder(of: "tiny", version: "1.0").record()

        #expect(manifest.files.contains { $0.recordPath == "tiny/__init__.py" && $0.size == 22 })
    }
}
