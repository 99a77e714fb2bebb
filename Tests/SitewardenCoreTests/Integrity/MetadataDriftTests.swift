import Foundation
import Testing

@testable import SitewardenCore

/// Mode and ownership drift: its own class, put back in place without touching the bytes.
@Suite("Metadata drift")
struct MetadataDriftTests {
    private func mode(_ path: String) -> UInt32 {
        var info = stat()
        lstat(path, &info)
        return info.st_mode & 0o7777
    }

    @Test func executableBitOnAModuleIsMetadataDriftAndIsPutBackInPlace() throws {
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        let server = scratch.sitePackages + "/tunely/server.py"
        chmod(server, 0o755)
        let inode = Files.inode(server)

        let drifts = scratch.verifier().verify().drifts
        let restored = try Restorer(venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest)
            .restore(drifts)

        #expect(drifts.map(\.kind) == [.metadata])
        #expect(
            drifts.first?.description.contains("metadata changed (mode 0755, owner 0:0, expected mode 0644") == true)
        #expect(restored.map(\.recordPath) == ["tunely/server.py"])
        #expect(mode(server) == 0o644)
        #expect(Files.inode(server) == inode)
        #expect(scratch.verifier().verify().isClean)
    }

    @Test func bitsOutsideTheMaskAreNotDriftAndTheMaskIsConfigurable() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        chmod(scratch.sitePackages + "/tunely/cli.py", 0o600)

        let defaultMask = scratch.verifier().verify()
        let strict = Verifier(
            target: "tunely", venv: scratch.venv, distribution: "tunely", version: "0.2.3",
            backupDirectory: scratch.backup, policy: VerificationPolicy(modeMask: 0o7777)
        ).verify()

        #expect(defaultMask.isClean)
        #expect(strict.drifts.map(\.kind) == [.metadata])
    }

    @Test func worldWritableScriptLosingItsExecuteBitIsMetadataDrift() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        chmod(scratch.venv + "/bin/tunely", 0o646)

        let drift = try #require(scratch.verifier().verify().drifts.first)

        #expect(drift.kind == .metadata)
        #expect(drift.expectedMetadata?.mode == 0o755 && drift.actualMetadata?.mode == 0o646)
    }

    @Test func changedOwnerIsMetadataDriftAndIsPutBack() throws {
        try #require(geteuid() == 0, "chown needs root")
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        let models = scratch.sitePackages + "/tunely/models.py"
        chown(models, 65534, 65534)

        let drifts = scratch.verifier().verify().drifts
        _ = try Restorer(venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest).restore(drifts)

        #expect(drifts.map(\.kind) == [.metadata])
        var info = stat()
        lstat(models, &info)
        #expect(info.st_uid == 0 && info.st_gid == 0)
    }

    @Test func contentDriftWinsOverMetadataAndTheRestoreGivesBothBack() throws {
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        let server = scratch.sitePackages + "/tunely/server.py"
        try Files.keepFirstLines(server, 562)
        chmod(server, 0o777)

        let drifts = scratch.verifier().verify().drifts
        _ = try Restorer(venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest).restore(drifts)

        #expect(drifts.map(\.kind.name) == ["truncated"])
        #expect(mode(server) == 0o644)
    }

    @Test func metadataOnlyRepairDoesNotRestartTheUnit() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        chmod(scratch.sitePackages + "/tunely/app.py", 0o4755)
        let services = ScriptedServiceManager()
        let events = RecordingSink()
        let target = TargetConfig(
            name: "tunely", venv: scratch.venv, distribution: "tunely", version: "0.2.3", backup: scratch.backup,
            unit: "as-dispatch.service")

        let health = TargetMonitor(target: target, events: events).runCycle(repair: true, services: services)

        #expect(health == .healthy)
        #expect(services.restarted.isEmpty)
        #expect(events.first(.driftFound)?.field("EXPECTED_MODE") == "0644")
        #expect(events.first(.driftFound)?.field("ACTUAL_MODE") == "4755")
        #expect(mode(scratch.sitePackages + "/tunely/app.py") == 0o644)
    }
}
