import Foundation
import Testing

@testable import SitewardenCore

/// CASES.md 6: only paths that resolve inside the venv are read or written; the rest are refused
/// once, with a security warning.
@Suite("Paths that leave the venv")
struct ConfinementTests {
    private func appendToRecord(_ scratch: Scratch, _ rows: String) throws {
        let record = scratch.sitePackages + "/tunely-0.2.3.dist-info/RECORD"
        try Files.overwriteInPlace(record, with: try Files.read(record) + Data(rows.utf8))
    }

    @Test func pathClimbingOutThroughAPackageDirectoryIsRefusedNotRead() throws {
        let scratch = try RealTunely.scratchVenv()
        try appendToRecord(
            scratch, "tunely/../../../../../../tmp/x,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n")

        let report = scratch.verifier().verify()

        #expect(report.drifts.isEmpty)
        #expect(
            report.warnings == [
                "security: tunely/../../../../../../tmp/x is outside the venv; never read, written or restored"
            ])
    }

    @Test func theSameOutsidePathListedTwiceIsWarnedAboutOnce() throws {
        let scratch = try RealTunely.scratchVenv()
        try appendToRecord(scratch, "/etc/passwd,,\n/etc/passwd,,\n../../../../../../etc/cron.d/x,,\n")

        let report = scratch.verifier().verify()

        #expect(report.warnings.filter { $0.hasPrefix("security:") }.count == 2)
    }

    @Test func venvWhoseBinIsASymlinkToASystemDirectoryIsRefusedOnceAndNeverWritten() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let system = scratch.path + "/usr-bin"
        try FileManager.default.moveItem(atPath: scratch.venv + "/bin", toPath: system)
        try Files.overwriteInPlace(system + "/tunely", with: Data("#!/bin/sh\necho not tunely\n".utf8))
        symlink(system, scratch.venv + "/bin")
        let events = RecordingSink()
        let monitor = TargetMonitor(
            target: TargetConfig(
                name: "tunely", venv: scratch.venv, distribution: "tunely", version: "0.2.3", backup: scratch.backup),
            events: events)

        let first = monitor.runCycle(repair: true, services: nil)
        let second = monitor.runCycle(repair: true, services: nil)

        let warnings = try #require(monitor.lastReport?.warnings)
        #expect(warnings.count == 1)
        #expect(
            warnings.first?.hasPrefix("security: ../../../bin/tunely is in bin, which leads out of the venv") == true)
        #expect(monitor.lastReport?.drifts.isEmpty == true)
        #expect(first == .healthy && second == .healthy)
        #expect(events.kinds.filter { $0 == .verificationWarning }.count == 1)
        #expect(try Files.read(system + "/tunely") == Data("#!/bin/sh\necho not tunely\n".utf8))
    }
}
