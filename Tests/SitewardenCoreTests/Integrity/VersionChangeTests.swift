import Foundation
import Testing

@testable import SitewardenCore

/// Two sources of truth: RECORD of what is installed, the baseline of what was known-good.
/// Another version installed cleanly is an upgrade, not damage, unless the version is pinned.
@Suite("Version changes")
struct VersionChangeTests {
    /// Turns the scratch copy into a consistent "tunely 0.2.4": a changed `__init__.py`, a new
    /// module, the dist-info renamed and a RECORD whose hashes match the new files.
    private func upgrade(_ scratch: Scratch) throws {
        let sitePackages = scratch.sitePackages
        try FileManager.default.moveItem(
            atPath: sitePackages + "/tunely-0.2.3.dist-info", toPath: sitePackages + "/tunely-0.2.4.dist-info")
        let initPy = sitePackages + "/tunely/__init__.py"
        try Files.overwriteInPlace(initPy, with: try Files.read(initPy) + Data("# 0.2.4\n".utf8))
        try Files.create(sitePackages + "/tunely/relay.py", Array("RELAY = True\n".utf8), mode: 0o644)
        let oldRecord = String(decoding: try Files.read(sitePackages + "/tunely-0.2.4.dist-info/RECORD"), as: UTF8.self)
        var rows = [String]()
        for line in oldRecord.split(separator: "\n").map(String.init) + ["tunely/relay.py,x,0"] {
            let path = String(line.split(separator: ",")[0]).replacingOccurrences(of: "0.2.3", with: "0.2.4")
            guard !path.hasSuffix("/RECORD") else {
                rows.append(path + ",,")
                continue
            }
            let bytes = Array(try Files.read(sitePackages + "/" + path))
            rows.append("\(path),\(SmallDistribution.canonicalHash(bytes)),\(bytes.count)")
        }
        try Files.overwriteInPlace(
            sitePackages + "/tunely-0.2.4.dist-info/RECORD", with: Data((rows.joined(separator: "\n") + "\n").utf8))
    }

    private func target(_ scratch: Scratch, pinned: Bool = false) -> TargetConfig {
        TargetConfig(
            name: "tunely", venv: scratch.venv, distribution: "tunely", version: "0.2.3", backup: scratch.backup,
            pinVersion: pinned)
    }

    @Test func upgradeMatchingItsOwnRecordIsAVersionChangeNotDamageAndIsNotReverted() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try upgrade(scratch)
        let events = RecordingSink()
        let monitor = TargetMonitor(target: target(scratch), events: events)

        let report = scratch.verifier().verify()
        let first = monitor.runCycle(repair: true, services: nil)
        let second = monitor.runCycle(repair: true, services: nil)

        #expect(report.versionChange?.description == "version changed: 0.2.3 → 0.2.4")
        #expect(report.failure == nil && report.drifts.isEmpty && report.version == "0.2.4")
        #expect(CheckCommand.outcome(report, []) == .versionChanged)
        #expect(first == .versionChanged && second == .versionChanged)
        #expect(events.kinds == [.versionChanged])
        #expect(events.first(.versionChanged)?.field("OLD_VERSION") == "0.2.3")
        #expect(events.first(.versionChanged)?.field("NEW_VERSION") == "0.2.4")
        #expect(
            String(decoding: try Files.read(scratch.sitePackages + "/tunely/__init__.py"), as: UTF8.self).hasSuffix(
                "# 0.2.4\n"))
    }

    @Test func damageToTheNewVersionIsDriftButNothingIsRestoredFromTheOldBaseline() throws {
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        try upgrade(scratch)
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/__init__.py", 3)
        let events = RecordingSink()

        let report = scratch.verifier().verify()
        let health = TargetMonitor(target: target(scratch), events: events).runCycle(repair: true, services: nil)

        #expect(report.drifts.map(\.recordPath) == ["tunely/__init__.py"])
        #expect(report.drifts.first.map { $0.disagreesWithRecord && !$0.disagreesWithBaseline } == true)
        #expect(health == .drifted)
        #expect(!events.kinds.contains(.restoreStarted))
        #expect {
            try Restorer(venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest)
                .restore(report.drifts)
        } throws: { error in
            "\(error)".contains("no known-good copy of tunely/__init__.py")
        }
    }

    @Test func pinnedVersionIsDriftAndTheBaselinesVersionIsRestored() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try upgrade(scratch)
        let events = RecordingSink()

        let before = Verifier(
            target: "tunely", venv: scratch.venv, distribution: "tunely", version: "0.2.3",
            backupDirectory: scratch.backup, policy: VerificationPolicy(pinVersion: true)
        ).verify()
        let health = TargetMonitor(target: target(scratch, pinned: true), events: events)
            .runCycle(repair: true, services: nil)
        let after = scratch.verifier().verify()

        #expect(before.versionChange?.description == "version drift: 0.2.4 is installed but 0.2.3 is pinned")
        #expect(before.drifts.first { $0.recordPath == "tunely/__init__.py" }?.kind == .modified)
        // The seven files of tunely-0.2.3.dist-info, RECORD included.
        #expect(before.drifts.filter { $0.kind == .missing }.count == 7)
        #expect(before.drifts.first { $0.recordPath == "tunely/relay.py" }?.kind == .extra)
        #expect(events.kinds.prefix(1) == [.driftFound])
        #expect(events.kinds.contains(.versionChanged) && events.kinds.contains(.restoreDone))
        #expect(health == .drifted)
        #expect(after.version == "0.2.3" && after.versionChange == nil)
        #expect(after.drifts.map(\.recordPath) == ["tunely/relay.py"])
        #expect(
            after.warnings.contains {
                $0.hasPrefix("tunely-0.2.4.dist-info is installed beside tunely-0.2.3.dist-info")
            })
    }

    @Test func baselineAdoptMakesTheNewVersionKnownGood() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try upgrade(scratch)
        let config = SitewardenConfig(
            daemon: DaemonConfig(), targets: [target(scratch)], sourcePath: scratch.path + "/config.toml")

        let plain = BaselineCommand(config: config, targetNames: []).run()
        let adopted = BaselineCommand(config: config, targetNames: [], adopt: true).run()
        let report = scratch.verifier().verify()

        #expect(plain == .cannotVerify)
        #expect(adopted == .healthy)
        #expect(try BaselineManifest.load(backupDirectory: scratch.backup)?.version == "0.2.4")
        #expect(report.isClean && report.version == "0.2.4")
        #expect(
            report.warnings == [
                "version = \"0.2.3\" is configured but the baseline adopted 0.2.4, which is installed; update version "
                    + "in the configuration"
            ])
    }
}
