import Foundation
import Testing

@testable import SitewardenCore

/// CASES.md 4: files in the distribution's package directories that RECORD does not list.
@Suite("Extra files nobody installed")
struct ExtraFilesTests {
    private func pycache(_ scratch: Scratch) throws -> String {
        let directory = scratch.sitePackages + "/tunely/__pycache__"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func legacyModuleAndSourcelessBytecodeAreExtraAndInterpreterBytecodeIsNormal() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try Files.create(scratch.sitePackages + "/tunely/legacy.py", Array("import os\n".utf8), mode: 0o644)
        try Files.create(scratch.sitePackages + "/tunely/old.pyc", [0x61, 0x0d, 0x0d, 0x0a], mode: 0o644)
        try Files.create(
            scratch.sitePackages + "/tunely/_speedups.cpython-311-x86_64-linux-gnu.so", [0x7f], mode: 0o755)
        try Files.create(try pycache(scratch) + "/server.cpython-311.pyc", [0x61, 0x0d], mode: 0o644)
        try Files.create(scratch.sitePackages + "/tunely/notes.txt", Array("hi".utf8), mode: 0o644)

        let report = scratch.verifier().verify()

        #expect(
            report.drifts.map(\.recordPath) == [
                "tunely/_speedups.cpython-311-x86_64-linux-gnu.so", "tunely/legacy.py", "tunely/old.pyc",
            ])
        #expect(report.drifts.allSatisfy { $0.kind == .extra && $0.actualSize != nil })
        #expect(report.drifts.first { $0.recordPath == "tunely/legacy.py" }?.description.contains("extra") == true)
    }

    @Test func bytecodeWhoseSourceIsGoneIsExtra() throws {
        let scratch = try RealTunely.scratchVenv()
        try Files.create(try pycache(scratch) + "/removed.cpython-311.pyc", [0x61, 0x0d], mode: 0o644)

        let report = scratch.verifier().verify()

        #expect(report.drifts.map(\.recordPath) == ["tunely/__pycache__/removed.cpython-311.pyc"])
        #expect(report.drifts.first?.kind == .extra)
    }

    @Test func ignoreGlobsExemptPaths() throws {
        let scratch = try RealTunely.scratchVenv()
        try FileManager.default.createDirectory(
            atPath: scratch.sitePackages + "/tunely/data", withIntermediateDirectories: true)
        try Files.create(scratch.sitePackages + "/tunely/data/generated.py", Array("x = 1\n".utf8), mode: 0o644)
        try Files.create(scratch.sitePackages + "/tunely/local_settings.py", Array("x = 1\n".utf8), mode: 0o644)
        let policy = VerificationPolicy(ignore: ["tunely/data/*", "*/local_settings.py"])

        let ignoring = scratch.verifier(of: "tunely", version: "0.2.3", policy: policy).verify()
        let strict = scratch.verifier().verify()

        #expect(ignoring.drifts.isEmpty)
        #expect(strict.drifts.map(\.recordPath) == ["tunely/data/generated.py", "tunely/local_settings.py"])
    }

    @Test func restoreLeavesExtrasInPlaceAndSaysSo() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try Files.create(scratch.sitePackages + "/tunely/legacy.py", Array("import os\n".utf8), mode: 0o644)
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        let events = RecordingSink()
        let target = TargetConfig(
            name: "tunely", venv: scratch.venv, distribution: "tunely", version: "0.2.3", backup: scratch.backup)
        let monitor = TargetMonitor(target: target, events: events)

        let first = monitor.runCycle(repair: true, services: nil)
        let second = monitor.runCycle(repair: true, services: nil)

        #expect(first == .drifted && second == .drifted)
        #expect(try Files.lineCount(scratch.sitePackages + "/tunely/server.py") == RealTunely.serverPyLines)
        #expect(FileManager.default.fileExists(atPath: scratch.sitePackages + "/tunely/legacy.py"))
        #expect(
            events.first(.restoreDone)?.message.contains(
                "left in place (extra, sitewarden never deletes code): tunely/legacy.py") == true)
        #expect(events.kinds.filter { $0 == .restoreStarted }.count == 1)
        #expect(events.all(.driftFound).filter { $0.field("DRIFT") == "extra" }.count == 1)
    }

    @Test func fileSharedWithAnotherDistributionIsReportedOnceAndNotFoughtOver() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let theirs = Array("# tunely namespace, as other-dist ships it\n".utf8)
        let other = SmallDistribution(name: "other-dist", version: "1.0", files: [("tunely/__init__.py", theirs)])
        try other.install(into: scratch.sitePackages)

        let first = scratch.verifier().verify()
        let second = scratch.verifier().verify()

        for report in [first, second] {
            #expect(report.drifts.isEmpty)
            #expect(
                report.warnings.filter {
                    $0.contains("tunely/__init__.py is also installed by other-dist-1.0.dist-info")
                }.count == 1)
        }
    }
}
