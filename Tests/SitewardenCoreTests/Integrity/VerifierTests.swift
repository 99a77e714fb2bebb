import Foundation
import Testing

@testable import SitewardenCore

@Suite("Verification of the real tunely install against RECORD and the baseline")
struct VerifierTests {
    @Test func cleanInstallVerifiesClean() throws {
        let scratch = try RealTunely.scratchVenv()

        let report = scratch.verifier().verify()

        #expect(report.failure == nil)
        #expect(report.drifts.isEmpty)
        #expect(report.version == "0.2.3")
        // 18 RECORD rows less RECORD itself, which cannot carry its own hash.
        #expect(report.filesChecked == 17)
    }

    /// A filesystem names files by bytes: a precomposed `é` and an `e` with a combining accent are
    /// two files (and two RECORD rows), though Swift's `String` would call the names equal.
    @Test func namesThatDifferOnlyInUnicodeNormalizationAreTwoFiles() throws {
        let scratch = try RealTunely.scratchVenv()
        let record = scratch.sitePackages + "/tunely-0.2.3.dist-info/RECORD"
        var rows = ""
        for (name, text) in [("caf\u{E9}.py", "composed = 1\n"), ("cafe\u{301}.py", "decomposed = 2\n")] {
            try Files.create(scratch.sitePackages + "/tunely/" + name, Array(text.utf8), mode: 0o644)
            let hash = RecordHash(sha256: SHA256Hasher.digest(of: Array(text.utf8))).recordField
            rows += "tunely/\(name),\(hash),\(text.utf8.count)\n"
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: record))
        handle.seekToEndOfFile()
        handle.write(Data(rows.utf8))
        try handle.close()

        let report = scratch.verifier().verify()

        #expect(report.drifts.isEmpty, "\(report.drifts)")
        #expect(report.filesChecked == 17 + 2)
    }

    @Test func incidentTruncationIsDiagnosedAsPrefixOfKnownGood() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let server = scratch.sitePackages + "/tunely/server.py"
        try Files.keepFirstLines(server, 562)

        let report = scratch.verifier().verify()

        let drift = try #require(report.drifts.first)
        #expect(report.drifts.count == 1)
        #expect(drift.recordPath == "tunely/server.py")
        guard case .truncated(let diagnosis) = drift.kind else {
            Issue.record("expected truncated, got \(drift.kind)")
            return
        }
        #expect(diagnosis.keptLines == 562)
        #expect(diagnosis.totalLines == RealTunely.serverPyLines)
        #expect("\(drift)".contains("prefix of the known-good file, 562 of 1361 lines"))
        #expect(drift.disagreesWithRecord && drift.disagreesWithBaseline)
        #expect(drift.actualSize == (try Files.read(server)).count)
    }

    @Test func truncationMidTokenAndToZeroBytesAreTruncations() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let server = scratch.sitePackages + "/tunely/server.py"
        let original = try Files.read(server)

        try Files.overwriteInPlace(server, with: original.prefix(10_007))
        let midToken = try #require(scratch.verifier().verify().drifts.first)
        try Files.overwriteInPlace(server, with: Data())
        let empty = try #require(scratch.verifier().verify().drifts.first)

        guard case .truncated(let cut) = midToken.kind, case .truncated(let zero) = empty.kind else {
            Issue.record("expected truncations, got \(midToken.kind) and \(empty.kind)")
            return
        }
        #expect(cut.keptBytes == 10_007)
        #expect(cut.keptLines == original.prefix(10_007).filter { $0 == UInt8(ascii: "\n") }.count)
        #expect(zero.keptLines == 0 && zero.keptBytes == 0 && zero.totalBytes == original.count)
    }

    @Test func changedByteIsModifiedAndDeletedFileIsMissing() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        var models = try Files.read(scratch.sitePackages + "/tunely/models.py")
        models[100] ^= 0x20
        try Files.overwriteInPlace(scratch.sitePackages + "/tunely/models.py", with: models)
        unlink(scratch.sitePackages + "/tunely/cli.py")

        let report = scratch.verifier().verify()

        #expect(report.drifts.map(\.recordPath) == ["tunely/cli.py", "tunely/models.py"].sorted())
        #expect(report.drifts.map(\.kind.name).sorted() == ["missing", "modified"])
    }

    @Test func driftAgainstRecordIsFoundWithoutABaseline() throws {
        let scratch = try RealTunely.scratchVenv()
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)

        let report = scratch.verifier().verify()

        let drift = try #require(report.drifts.first)
        #expect(drift.kind == .modified)
        #expect(drift.disagreesWithRecord && !drift.disagreesWithBaseline)
    }

    @Test func consoleScriptOutsideSitePackagesIsVerified() throws {
        let scratch = try RealTunely.scratchVenv()
        try Files.overwriteInPlace(scratch.venv + "/bin/tunely", with: Data("#!/bin/sh\necho hacked\n".utf8))

        let report = scratch.verifier().verify()

        #expect(report.drifts.map(\.recordPath) == ["../../../bin/tunely"])
        #expect(report.drifts.first?.venvPath == "bin/tunely")
    }

    @Test func recordPathsLeavingTheVenvAreRejectedNotRead() throws {
        let scratch = try RealTunely.scratchVenv()
        let record = scratch.sitePackages + "/tunely-0.2.3.dist-info/RECORD"
        let extra =
            "../../../../../../etc/cron.d/x,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n/etc/passwd,,\n"
        try Files.overwriteInPlace(record, with: try Files.read(record) + Data(extra.utf8))

        let report = scratch.verifier().verify()

        #expect(report.drifts.isEmpty)
        #expect(report.warnings.filter { $0.hasPrefix("security:") }.count == 2)
        #expect(report.warnings.contains { $0.contains("/etc/passwd") })
    }

    @Test func missingVenvIsAFailureNotACrash() {
        let verifier = Verifier(
            target: "tunely", venv: "/nonexistent/venv", distribution: "tunely", version: nil,
            backupDirectory: "/nonexistent/b")

        let report = verifier.verify()

        #expect(report.failure?.contains("/nonexistent/venv") == true)
        #expect(!report.isClean)
    }

    @Test func distInfoWithoutRecordAndNoBaselineIsNeverClean() throws {
        let scratch = try RealTunely.scratchVenv()
        unlink(scratch.sitePackages + "/tunely-0.2.3.dist-info/RECORD")

        let report = scratch.verifier().verify()

        #expect(report.failure?.contains("no usable RECORD and no baseline") == true)
    }

    @Test func anotherVersionThanTheConfiguredOneIsAVersionChangeVerifiedAgainstItsOwnRecord() throws {
        let scratch = try RealTunely.scratchVenv()

        let report = scratch.verifier(version: "0.2.2").verify()

        #expect(report.versionChange?.description == "version changed: 0.2.2 → 0.2.3")
        #expect(report.failure == nil && report.drifts.isEmpty && report.filesChecked == 17)
    }
}
