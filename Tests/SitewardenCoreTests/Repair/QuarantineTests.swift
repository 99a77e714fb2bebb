import Foundation
import Testing

@testable import SitewardenCore

@Suite("Quarantine: replaced files and extras kept for forensics, bounded")
struct QuarantineTests {
    private func sessions(_ scratch: Scratch) -> [String] {
        let directory = scratch.path + "/state/quarantine/tunely"
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            .map { directory + "/" + $0 }
    }

    private func record(_ session: String) throws -> QuarantineRecord {
        try JSONDecoder().decode(QuarantineRecord.self, from: Files.read(session + "/record.json"))
    }

    @Test func restoreKeepsTheDamagedInodeInTheQuarantineWithARecordOfWhy() throws {
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        let server = scratch.sitePackages + "/tunely/server.py"
        try Files.keepFirstLines(server, 562)
        let damagedInode = Files.inode(server)
        let damagedDigest = try Files.sha256(server)
        let drifts = scratch.verifier().verify().drifts
        let quarantine = Quarantine(stateDirectory: scratch.path + "/state", target: "tunely", limit: 1 << 30)

        let outcome = try Restorer(
            venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest, quarantine: quarantine,
            reason: "drift: truncated"
        ).restoreReporting(drifts)

        let session = try #require(outcome.quarantineDirectory)
        #expect(sessions(scratch) == [session])
        let kept = session + "/files/" + RealTunely.sitePackagesSuffix + "/tunely/server.py"
        #expect(Files.inode(kept) == damagedInode, "hard-linked: the damaged inode itself")
        #expect(try Files.sha256(kept) == damagedDigest)
        #expect(Files.inode(server) != damagedInode)
        let record = try record(session)
        #expect(record.target == "tunely" && record.reason == "drift: truncated")
        #expect(abs(record.when - Int(time(nil))) < 60)
        let entry = try #require(record.files.first)
        #expect(record.files.count == 1)
        #expect(entry.file == "tunely/server.py" && entry.drift == "truncated" && entry.kept == "linked")
        #expect(entry.actualSHA256 == damagedDigest)
        #expect(entry.expectedSHA256 == (try Files.sha256(server)))
        #expect(entry.expectedSize == (try Files.read(server).count))
        #expect(entry.actualSize == (try Files.read(kept).count))
        var info = stat()
        stat(scratch.path + "/state/quarantine", &info)
        #expect(info.st_mode & 0o777 == 0o700)
    }

    @Test func quarantineDropsTheOldestRestoresBeyondItsLimit() throws {
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        let server = scratch.sitePackages + "/tunely/server.py"
        func damageAndRestore(limit: Int) throws -> String? {
            try Files.keepFirstLines(server, 300)
            let quarantine = Quarantine(stateDirectory: scratch.path + "/state", target: "tunely", limit: limit)
            return try Restorer(
                venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest, quarantine: quarantine
            ).restoreReporting(scratch.verifier().verify().drifts).quarantineDirectory
        }

        let kept = try (0..<3).map { _ in try damageAndRestore(limit: 1 << 30) }
        #expect(sessions(scratch) == kept.compactMap { $0 })
        let newest = try damageAndRestore(limit: 1)

        #expect(sessions(scratch) == [newest].compactMap { $0 }, "only the restore just kept survives a tiny limit")
        #expect(scratch.verifier().verify().drifts.isEmpty)
    }

    @Test func extraFilesAreMovedIntoTheQuarantineOnlyWhenConfigured() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let legacy = scratch.sitePackages + "/tunely/legacy.py"
        try Files.create(legacy, Array("import os\n".utf8), mode: 0o644)
        let services = ScriptedServiceManager()
        func monitor(quarantineExtras: Bool, _ events: RecordingSink) -> TargetMonitor {
            let config = TargetConfig(
                name: "tunely", venv: scratch.venv, distribution: "tunely", version: "0.2.3", backup: scratch.backup,
                unit: "as-dispatch.service", quarantineExtras: quarantineExtras)
            let monitor = TargetMonitor(target: config, events: events)
            monitor.quarantine = Quarantine(stateDirectory: scratch.path + "/state", target: "tunely", limit: 1 << 30)
            return monitor
        }
        let reportOnly = RecordingSink()
        let moving = RecordingSink()

        _ = monitor(quarantineExtras: false, reportOnly).runCycle(repair: true, services: services)
        let stayed = FileManager.default.fileExists(atPath: legacy)
        let health = monitor(quarantineExtras: true, moving).runCycle(repair: true, services: services)

        #expect(stayed)
        #expect(reportOnly.kinds == [.driftFound])
        #expect(health == .healthy)
        #expect(!FileManager.default.fileExists(atPath: legacy))
        #expect(moving.first(.restoreDone)?.field("MOVED_EXTRAS") == "tunely/legacy.py")
        #expect(services.restarted == ["as-dispatch.service"], "the service may have imported the extra")
        let session = try #require(sessions(scratch).first)
        #expect(
            try Files.read(session + "/files/" + RealTunely.sitePackagesSuffix + "/tunely/legacy.py")
                == Data("import os\n".utf8))
        #expect(try record(session).files.map(\.kept) == ["moved"])
        #expect(try record(session).files.map(\.drift) == ["extra"])
    }

    /// Only what was moved is said to be: an extra that is not a regular file stays, and why is told.
    @Test func anExtraThatIsNotARegularFileIsNotReportedMoved() throws {
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        let fifo = scratch.sitePackages + "/tunely/legacy.py"
        #expect(mkfifo(fifo, 0o644) == 0)
        let drifts = scratch.verifier().verify().drifts
        let quarantine = Quarantine(stateDirectory: scratch.path + "/state", target: "tunely", limit: 1 << 30)

        let outcome = try Restorer(
            venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest, quarantine: quarantine,
            quarantineExtras: true
        ).restoreReporting(drifts)

        #expect(drifts.map(\.kind) == [.extra])
        #expect(outcome.movedExtras.isEmpty)
        #expect(outcome.quarantineProblems.count == 1)
        #expect(outcome.quarantineProblems.first?.hasPrefix("tunely/legacy.py: ") == true)
        #expect(outcome.quarantineProblems.first?.contains("not a regular file, left in place") == true)
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
    }

    @Test(arguments: ["../../escaped", "billing/api", "..", ".", ""])
    func aTargetNameThatIsNotOneDirectoryIsRefusedAndNothingIsMadeOutsideTheQuarantine(name: String) throws {
        let scratch = try Scratch()
        let quarantine = Quarantine(stateDirectory: scratch.path + "/a/b/state", target: name, limit: 1 << 30)

        #expect(throws: SystemError.self) { try quarantine.open() }
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/a/b/escaped"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/a/escaped"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/a/b/state/quarantine/billing"))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: scratch.path + "/a/b")) ?? []) == ["state"])
    }
}
