import Foundation
import Testing

@testable import SitewardenCore

@Suite("The baseline manifest checks itself")
struct ManifestChecksumTests {
    private var manifestPath: (Scratch) -> String { { $0.backup + "/" + BaselineManifest.fileName } }

    @Test func recordedManifestCarriesAChecksumThatLoads() throws {
        let scratch = try RealTunely.scratchVenv()

        let manifest = try scratch.recorder().record()

        #expect(manifest.format == 2)
        #expect(manifest.checksum == SHA256Hasher.digest(of: manifest.canonicalContent).hex)
        #expect(try BaselineManifest.load(backupDirectory: scratch.backup) == manifest)
    }

    @Test func editedManifestIsABackupDamagedFailure() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let path = manifestPath(scratch)
        let edited = String(decoding: try Files.read(path), as: UTF8.self)
            .replacingOccurrences(of: "\"size\" : 48133", with: "\"size\" : 48134")
        try Files.overwriteInPlace(path, with: Data(edited.utf8))

        let report = scratch.verifier().verify()

        #expect(report.failure?.hasPrefix("backup damaged: manifest checksum mismatch") == true)
        #expect(report.backupDamaged)
    }

    @Test func damagedManifestIsACriticalEventAndNothingIsRestored() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try Files.overwriteInPlace(manifestPath(scratch), with: Data("{\"format\": 2, \"files\": [".utf8))
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        let events = RecordingSink()
        let target = TargetConfig(
            name: "tunely", venv: scratch.venv, distribution: "tunely", version: "0.2.3", backup: scratch.backup)

        let health = TargetMonitor(target: target, events: events).runCycle(repair: true, services: nil)

        #expect(health == .degraded)
        #expect(events.kinds == [.backupDamaged])
        #expect(events.first(.backupDamaged)?.kind.priority == .critical)
        #expect(try Files.lineCount(scratch.sitePackages + "/tunely/server.py") == 562)
    }

    @Test func manifestOfTheOldFormatAsksForANewBaseline() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try Files.overwriteInPlace(manifestPath(scratch), with: Data("{\"format\": 1, \"files\": []}".utf8))

        let report = scratch.verifier().verify()

        #expect(report.failure?.contains("format 1 is not supported (expected 2); re-record the baseline") == true)
        #expect(!report.backupDamaged)
    }
}
