import Foundation
import Testing

@testable import SitewardenCore

/// CASES.md 3: what interrupted installs leave behind, and RECORDs that cannot be used.
@Suite("Install residue and unusable RECORDs")
struct InstallShapeTests {
    @Test func tildeResidueOfAnInterruptedInstallIsReportedNotFatal() throws {
        let scratch = try RealTunely.scratchVenv()
        try Shell.check(["cp", "-a", scratch.sitePackages + "/tunely", scratch.sitePackages + "/~unely"])
        try Shell.check([
            "cp", "-a", scratch.sitePackages + "/tunely-0.2.3.dist-info",
            scratch.sitePackages + "/~unely-0.2.3.dist-info",
        ])

        let report = scratch.verifier().verify()

        #expect(report.failure == nil && report.drifts.isEmpty)
        #expect(report.installResidue == ["~unely", "~unely-0.2.3.dist-info"])
        #expect(report.warnings.filter { $0.hasPrefix("install residue: ~unely") }.count == 2)
    }

    @Test func distInfoWithoutItsPackageDirectoryIsReported() throws {
        let scratch = try RealTunely.scratchVenv()
        try FileManager.default.removeItem(atPath: scratch.sitePackages + "/tunely")

        let report = scratch.verifier().verify()

        #expect(report.drifts.count == 10 && report.drifts.allSatisfy { $0.kind == .missing })
        #expect(
            report.warnings.contains(
                "tunely-0.2.3.dist-info lists files in tunely/, which does not exist: an interrupted install or uninstall?"
            ))
    }

    @Test func zeroByteRecordFallsBackToTheBaselineWithAWarning() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let record = scratch.sitePackages + "/tunely-0.2.3.dist-info/RECORD"
        try Files.overwriteInPlace(record, with: Data())
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)

        let report = scratch.verifier().verify()

        #expect(report.failure == nil)
        #expect(
            report.warnings.contains(
                "tunely-0.2.3.dist-info/RECORD lists no files; verifying against the baseline only"))
        // RECORD itself differs from the baseline's copy too: it is one of the known-good files.
        #expect(report.drifts.map(\.recordPath) == ["tunely-0.2.3.dist-info/RECORD", "tunely/server.py"])
        #expect(report.drifts.allSatisfy { $0.disagreesWithBaseline && !$0.disagreesWithRecord })
    }

    @Test func missingRecordFallsBackToTheBaselineWithAWarning() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        unlink(scratch.sitePackages + "/tunely-0.2.3.dist-info/RECORD")

        let report = scratch.verifier().verify()

        #expect(report.warnings.contains("tunely-0.2.3.dist-info has no RECORD; verifying against the baseline only"))
        #expect(report.drifts.map(\.kind) == [.missing])
        #expect(report.filesChecked == 18)
    }
}
