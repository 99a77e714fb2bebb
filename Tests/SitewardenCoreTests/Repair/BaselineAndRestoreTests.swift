import Foundation
import Testing

@testable import SitewardenCore

@Suite("Baseline recording and restore on the real tunely install")
struct BaselineAndRestoreTests {
    @Test func baselineCopiesEveryRecordedFileWithDigestsAndModes() throws {
        let scratch = try RealTunely.scratchVenv()

        let manifest = try scratch.recorder().record()

        #expect(manifest.version == "0.2.3")
        #expect(manifest.sitePackages == RealTunely.sitePackagesSuffix)
        #expect(manifest.files.count == 18)
        let script = try #require(manifest.files.first { $0.venvPath == "bin/tunely" })
        #expect(script.mode == 0o755)
        let server = try #require(manifest.files.first { $0.recordPath == "tunely/server.py" })
        #expect(server.sha256 == (try Files.sha256(scratch.sitePackages + "/tunely/server.py")))
        #expect(try Files.sha256(scratch.backup + "/files/" + server.venvPath) == server.sha256)
        #expect(try BaselineManifest.load(backupDirectory: scratch.backup) == manifest)
    }

    @Test func baselineIsRefusedWhenInstalledFilesDoNotMatchRecord() throws {
        let scratch = try RealTunely.scratchVenv()
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)

        #expect {
            try scratch.recorder().record()
        } throws: { error in
            "\(error)".contains("do not match RECORD") && "\(error)".contains("tunely/server.py")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.backup))
        #expect(try Shell.check(["ls", scratch.path]).split(separator: "\n") == ["venv"])
    }

    @Test func rerecordingReplacesTheOldBaselineWhole() throws {
        let scratch = try RealTunely.scratchVenv()
        let first = try scratch.recorder().record(now: 1)

        let second = try scratch.recorder().record(now: 2)

        #expect(first.files == second.files)
        #expect(try BaselineManifest.load(backupDirectory: scratch.backup)?.recordedAt == 2)
        #expect(try Shell.check(["ls", scratch.path]).split(separator: "\n").sorted() == ["backup", "venv"])
    }

    @Test func baselineRemovesStagingLeftOverByADeadRunAndNothingElse() throws {
        let scratch = try RealTunely.scratchVenv()
        try scratch.recorder().record(now: 1)
        // Pids of processes that have exited (reaped), as a killed baseline's is.
        func exitedPID() throws -> pid_t {
            let finished = Process()
            finished.executableURL = URL(fileURLWithPath: "/bin/true")
            try finished.run()
            finished.waitUntilExit()
            return finished.processIdentifier
        }
        let dead = try exitedPID()
        let alsoDead = try exitedPID()
        let alive = getppid()
        // What a run killed mid-copy leaves: the files copied so far, no manifest yet.
        func leftover(_ path: String) throws {
            _ = try Shell.check(["mkdir", "-p", path])
            _ = try Shell.check(["cp", "-a", scratch.backup + "/files", path + "/files"])
        }
        let deadRun = scratch.backup + ".staging-\(dead)"
        let liveRun = scratch.backup + ".staging-\(alive)"
        let otherBackup = scratch.path + "/other.staging-\(dead)"
        let notThePattern = [scratch.backup + ".staging-0\(dead)", scratch.backup + ".staging-\(dead)x"]
        let withManifest = scratch.backup + ".staging-\(alsoDead)"
        for path in [deadRun, liveRun, otherBackup, withManifest] + notThePattern { try leftover(path) }
        try Data("{}".utf8).write(to: URL(fileURLWithPath: withManifest + "/manifest.json"))

        try scratch.recorder().record(now: 2)

        #expect(!FileManager.default.fileExists(atPath: deadRun))
        for kept in [liveRun, otherBackup, withManifest] + notThePattern {
            #expect(FileManager.default.fileExists(atPath: kept + "/files"), "\(kept) is not a dead run's staging")
        }
        #expect(try BaselineManifest.load(backupDirectory: scratch.backup)?.recordedAt == 2)
    }

    @Test func restoreWritesNewInodesAndLeavesHardlinkedCopiesAlone() throws {
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        let server = scratch.sitePackages + "/tunely/server.py"
        // uv hardlinks venv files to its cache: a restore must not write through the shared inode.
        let cacheLink = scratch.path + "/uv-cache-server.py"
        link(server, cacheLink)
        try Files.keepFirstLines(server, 562)
        let damagedInode = Files.inode(server)
        let drifts = scratch.verifier().verify().drifts

        let restored = try Restorer(venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest)
            .restore(drifts)

        #expect(restored.map(\.recordPath) == ["tunely/server.py"])
        #expect(Files.inode(server) != damagedInode)
        #expect(try Files.sha256(server) == restored[0].sha256)
        #expect(try Files.lineCount(cacheLink) == 562)
        #expect(scratch.verifier().verify().drifts.isEmpty)
        #expect(try stagedLeftovers(in: scratch.sitePackages + "/tunely").isEmpty)
    }

    @Test func restoreRecreatesMissingFilesDirectoriesAndModes() throws {
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        try FileManager.default.removeItem(atPath: scratch.sitePackages + "/tunely")
        unlink(scratch.venv + "/bin/tunely")
        let drifts = scratch.verifier().verify().drifts

        _ = try Restorer(venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest).restore(drifts)

        #expect(drifts.count == 11)
        #expect(scratch.verifier().verify().drifts.isEmpty)
        var info = stat()
        stat(scratch.venv + "/bin/tunely", &info)
        #expect(info.st_mode & 0o7777 == 0o755)
    }

    @Test func damagedBackupRefusesTheRestoreAndTouchesNothing() throws {
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/models.py", 3)
        try Files.overwriteInPlace(
            scratch.backup + "/files/" + RealTunely.sitePackagesSuffix + "/tunely/server.py", with: Data("junk".utf8))
        let before = try Files.sha256(scratch.sitePackages + "/tunely/models.py")
        let drifts = scratch.verifier().verify().drifts

        #expect {
            try Restorer(venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest).restore(drifts)
        } throws: { error in
            "\(error)".hasPrefix("backup damaged: tunely/server.py")
        }
        #expect(try Files.sha256(scratch.sitePackages + "/tunely/models.py") == before)
        #expect(try stagedLeftovers(in: scratch.sitePackages + "/tunely").isEmpty)
    }

    @Test func failedReplacementLeavesNoStagedFilesBehind() throws {
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        let tunely = scratch.sitePackages + "/tunely"
        try Files.keepFirstLines(tunely + "/server.py", 562)
        // A directory where models.py belongs: its rename fails (EISDIR), before server.py's turn.
        unlink(tunely + "/models.py")
        mkdir(tunely + "/models.py", 0o755)
        let drifts = scratch.verifier().verify().drifts
        try #require(drifts.map(\.kind.name) == ["not-a-regular-file", "truncated"])

        #expect {
            try Restorer(venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest).restore(drifts)
        } throws: { error in
            "\(error)".contains("tunely/models.py") && "\(error)".contains("Is a directory")
        }
        #expect(try Files.lineCount(tunely + "/server.py") == 562)
        #expect(try stagedLeftovers(in: tunely).isEmpty)
    }

    private func stagedLeftovers(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix(StagedCopy.marker) }
    }
}
