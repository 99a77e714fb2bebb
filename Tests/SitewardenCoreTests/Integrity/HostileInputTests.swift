import Foundation
import Testing

@testable import SitewardenCore

/// Inputs an attacker, a broken installer or a slip of the operator's hand can produce. Each was
/// found by trying to break sitewarden; each must end in a clear report, never in a hang, a
/// false "healthy", or data lost.
@Suite("Hostile and broken inputs")
struct HostileInputTests {
    @Test func packageFileSwappedForASymlinkOutOfTheVenvIsDriftAndIsReplaced() throws {
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        let cli = scratch.sitePackages + "/tunely/cli.py"
        unlink(cli)
        symlink("/etc/passwd", cli)

        let drifts = scratch.verifier().verify().drifts
        _ = try Restorer(venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest).restore(drifts)

        #expect(drifts.map(\.kind) == [.leavesVenv])
        #expect(drifts.first?.recordPath == "tunely/cli.py")
        #expect(FileHasher().state(of: cli) != .notRegularFile)
        #expect(scratch.verifier().verify().drifts.isEmpty)
    }

    /// The file is opened without following it, and judged by where it leads only afterwards.
    @Test func packageFileSwappedForASymlinkInsideTheVenvIsNotARegularFileAndIsNotFollowed() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let cli = scratch.sitePackages + "/tunely/cli.py"
        unlink(cli)
        symlink("server.py", cli)

        let drifts = scratch.verifier().verify().drifts

        #expect(drifts.map(\.kind) == [.notRegularFile])
        #expect(drifts.first?.recordPath == "tunely/cli.py")
    }

    @Test func packageDirectorySwappedForASymlinkIsDriftAndNothingIsWrittenThrough() throws {
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        let outside = scratch.path + "/outside-tunely"
        try FileManager.default.moveItem(atPath: scratch.sitePackages + "/tunely", toPath: outside)
        try Files.keepFirstLines(outside + "/server.py", 562)
        symlink(outside, scratch.sitePackages + "/tunely")

        let drifts = scratch.verifier().verify().drifts

        #expect(drifts.count == 10)
        #expect(drifts.allSatisfy { $0.kind == .leavesVenv })
        #expect {
            try Restorer(venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest).restore(drifts)
        } throws: { error in
            "\(error)".contains("leads out of the venv through a symlink")
        }
        #expect(try Files.lineCount(outside + "/server.py") == 562)
    }

    @Test func fifoInPlaceOfAPackageFileIsReportedWithoutBlocking() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        unlink(scratch.sitePackages + "/tunely/cli.py")
        mkfifo(scratch.sitePackages + "/tunely/cli.py", 0o644)

        let report = scratch.verifier().verify()

        #expect(report.drifts.map(\.kind) == [.notRegularFile])
    }

    @Test func fifoInPlaceOfRecordIsAFailureNotAHang() throws {
        let scratch = try RealTunely.scratchVenv()
        let record = scratch.sitePackages + "/tunely-0.2.3.dist-info/RECORD"
        unlink(record)
        mkfifo(record, 0o644)

        let report = scratch.verifier().verify()

        #expect(report.failure?.contains("not a regular file") == true)
    }

    @Test(arguments: ["", "\u{1}\u{2}garbage\u{0}\n\n", "only,two\n"])
    func recordWithNoUsableRowsAndNoBaselineIsNeverHealthy(contents: String) throws {
        let scratch = try RealTunely.scratchVenv()
        try Files.overwriteInPlace(scratch.sitePackages + "/tunely-0.2.3.dist-info/RECORD", with: Data(contents.utf8))

        let report = scratch.verifier().verify()

        #expect(report.failure?.contains("no usable RECORD and no baseline") == true)
        #expect(!report.isClean)
    }

    @Test func baselineOfAnotherVersionIsNotRestoredFrom() throws {
        let scratch = try RealTunely.scratchVenv()
        var manifest = try scratch.recorder().record()
        manifest.version = "0.2.2"
        try Files.overwriteInPlace(scratch.backup + "/manifest.json", with: Data(manifest.encoded()))

        let report = scratch.verifier().verify()

        #expect(report.versionChange == VersionChange(from: "0.2.2", to: "0.2.3", pinned: false))
        #expect(report.failure == nil && report.drifts.isEmpty && !report.isClean)
    }

    @Test func baselineOfAnotherVenvIsNotRestoredFrom() throws {
        let scratch = try RealTunely.scratchVenv()
        var manifest = try scratch.recorder().record()
        manifest.venv = "/srv/elsewhere/venv"
        try Files.overwriteInPlace(scratch.backup + "/manifest.json", with: Data(manifest.encoded()))

        let report = scratch.verifier().verify()

        #expect(report.failure?.contains("was recorded from /srv/elsewhere/venv") == true)
    }

    @Test func tamperedBackupCopyDoesNotPassForTheKnownGoodFile() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let copy = scratch.backup + "/files/" + RealTunely.sitePackagesSuffix + "/tunely/server.py"
        try Files.overwriteInPlace(copy, with: try Files.read(copy) + Data("\nimport os\n".utf8))
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)

        let drift = try #require(scratch.verifier().verify().drifts.first)

        #expect(drift.kind == .modified)
    }

    @Test func baselineNeverDeletesADirectoryThatIsNotABackup() throws {
        let scratch = try RealTunely.scratchVenv()
        let precious = scratch.path + "/data"
        try FileManager.default.createDirectory(atPath: precious, withIntermediateDirectories: true)
        try Files.create(precious + "/app.db", Array("rows".utf8), mode: 0o600)
        let recorder = BaselineRecorder(
            venv: scratch.venv, distribution: "tunely", version: "0.2.3", backupDirectory: precious)

        #expect {
            try recorder.record()
        } throws: { error in
            "\(error)".contains("is not a sitewarden backup") && "\(error)".contains(precious)
        }
        #expect(try Files.read(precious + "/app.db") == Data("rows".utf8))
    }

    @Test func backupThatCannotBeWrittenIsBlamedOnTheBackupNotTheInstall() throws {
        let scratch = try RealTunely.scratchVenv()
        try Files.create(scratch.path + "/afile", [], mode: 0o600)
        let recorder = BaselineRecorder(
            venv: scratch.venv, distribution: "tunely", version: "0.2.3",
            backupDirectory: scratch.path + "/afile/tunely")

        #expect {
            try recorder.record()
        } throws: { error in
            "\(error)".contains("create backup directory") && !"\(error)".contains("do not match RECORD")
        }
    }
}

extension HostileInputTests {
    @Test func secondDistInfoOfTheSameDistributionIsReported() throws {
        let scratch = try RealTunely.scratchVenv()
        try Shell.check([
            "cp", "-a", scratch.sitePackages + "/tunely-0.2.3.dist-info",
            scratch.sitePackages + "/tunely-0.2.2.dist-info",
        ])

        let pinned = scratch.verifier(version: "0.2.3").verify()
        let unpinned = scratch.verifier(version: nil).verify()

        #expect(
            pinned.warnings.contains(
                "tunely-0.2.2.dist-info is installed beside tunely-0.2.3.dist-info; only the latter is verified"))
        #expect(unpinned.failure?.contains("several dist-info directories (0.2.2, 0.2.3)") == true)
    }

    @Test func recordFieldsAreEscapedAndCutInMessages() {
        let record = Record(
            parsing: Array(
                "a.py,\u{1b}[31mred\u{1b}[0m,1\nb.py,sha256=x,\(String(repeating: "9", count: 5000))x\n".utf8))

        #expect(record.problems.map(\.message).allSatisfy { !$0.contains("\u{1b}") && $0.count < 260 })
        #expect(record.problems[0].message.contains("\\u{1B}[31mred"))
    }
}
