import Foundation
import Testing

@testable import SitewardenCore

@Suite("One-shot commands' verdicts")
struct CommandTests {
    private func config(_ scratch: Scratch, interval: Duration = .seconds(30)) -> SitewardenConfig {
        SitewardenConfig(
            daemon: DaemonConfig(interval: interval, stateDirectory: scratch.path + "/state"),
            targets: [
                TargetConfig(
                    name: "tunely", venv: scratch.venv, distribution: "tunely", version: "0.2.3",
                    backup: scratch.backup, unit: "as-dispatch.service")
            ], sourcePath: scratch.path + "/config.toml")
    }

    private func writeStatus(_ scratch: Scratch, pid: Int32, age: Int, health: TargetHealth = .healthy) throws {
        let status = DaemonStatus(
            writtenAt: Int(time(nil)) - age, pid: pid,
            targets: [
                TargetStatus(
                    name: "tunely", health: health, version: "0.2.3", filesChecked: 18, drifts: [], problem: nil,
                    probes: [])
            ])
        try FileManager.default.createDirectory(atPath: scratch.path + "/state", withIntermediateDirectories: true)
        try JSONEncoder().encode(status).write(to: URL(fileURLWithPath: scratch.path + "/state/status.json"))
    }

    private func deadPid() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test func statusOfALiveRecentDaemonIsTrusted() throws {
        let scratch = try Scratch()
        try writeStatus(scratch, pid: getpid(), age: 5)

        #expect(StatusCommand(config: config(scratch), targetNames: []).run() == .healthy)
    }

    @Test func statusLeftByADeadDaemonIsStale() throws {
        let scratch = try Scratch()
        try writeStatus(scratch, pid: try deadPid(), age: 5)

        #expect(StatusCommand(config: config(scratch), targetNames: []).run() == .cannotVerify)
    }

    @Test func statusNotWrittenForManyCyclesIsStale() throws {
        let scratch = try Scratch()
        try writeStatus(scratch, pid: getpid(), age: 3600)

        #expect(StatusCommand(config: config(scratch, interval: .seconds(30)), targetNames: []).run() == .cannotVerify)
    }

    @Test func statusReportsTheTargetsHealth() throws {
        let scratch = try Scratch()
        try writeStatus(scratch, pid: getpid(), age: 1, health: .drifted)

        #expect(StatusCommand(config: config(scratch), targetNames: []).run() == .drift)
    }

    @Test func statusWithoutAStatusFileCannotVerify() throws {
        let scratch = try Scratch()

        #expect(StatusCommand(config: config(scratch), targetNames: []).run() == .cannotVerify)
    }

    @Test func dryRunChecksTheBackupAndChangesNothing() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let server = scratch.sitePackages + "/tunely/server.py"
        try Files.keepFirstLines(server, 562)

        let healthyBackup = RestoreCommand(config: config(scratch), targetNames: [], dryRun: true).run()
        try Files.overwriteInPlace(
            scratch.backup + "/files/" + RealTunely.sitePackagesSuffix + "/tunely/server.py", with: Data("x".utf8))
        let damagedBackup = RestoreCommand(config: config(scratch), targetNames: [], dryRun: true).run()

        #expect(healthyBackup == .drift)
        #expect(damagedBackup == .cannotVerify)
        #expect(try Files.lineCount(server) == 562)
    }

    @Test func dryRunWithoutABaselineCannotVerify() throws {
        let scratch = try RealTunely.scratchVenv()
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)

        #expect(RestoreCommand(config: config(scratch), targetNames: [], dryRun: true).run() == .cannotVerify)
    }

    @Test func checkExitCodesRankDriftAboveEverythingElse() {
        #expect(CheckCommand.worse(.probeFailure, .drift) == .drift)
        #expect(CheckCommand.worse(.drift, .cannotVerify) == .drift)
        #expect(CheckCommand.worse(.healthy, .probeFailure) == .probeFailure)
        #expect(CheckCommand.worse(.probeFailure, .cannotVerify) == .cannotVerify)
    }
}

extension CommandTests {
    @Test func checkOutcomesOfTheNewStatuses() throws {
        let scratch = try Scratch()
        var report = VerificationReport(
            target: "tunely", version: "0.2.4", filesChecked: 17, drifts: [], warnings: [], failure: nil)
        report.versionChange = VersionChange(from: "0.2.3", to: "0.2.4", pinned: false)
        var uncovered = report
        uncovered.notCovered = "editable install"

        #expect(CheckCommand.outcome(report, []) == .versionChanged)
        #expect(CheckCommand.outcome(uncovered, []) == .cannotVerify)
        #expect(CheckCommand.worse(.versionChanged, .probeFailure) == .versionChanged)
        #expect(CheckCommand.worse(.versionChanged, .cannotVerify) == .cannotVerify)
        #expect(
            CheckCommand.render(config(scratch).targets[0], report, []).contains(
                "version changed: 0.2.3 → 0.2.4"))
    }

    @Test func restoreOfOnlyExtraFilesLeavesThemAndReportsDrift() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try Files.create(scratch.sitePackages + "/tunely/legacy.py", Array("import os\n".utf8), mode: 0o644)

        let result = RestoreCommand(config: config(scratch), targetNames: [], dryRun: false).run()

        #expect(result == .drift)
        #expect(FileManager.default.fileExists(atPath: scratch.sitePackages + "/tunely/legacy.py"))
    }
}

extension CommandTests {
    private func monitors(_ targets: [TargetConfig]) -> [TargetMonitor] {
        targets.map { TargetMonitor(target: $0, events: DiscardingSink(), scanner: FileScanner(workers: 2)) }
    }

    @Test func targetsVerifiedAtOnceReportInConfigurationOrder() throws {
        let damaged = try RealTunely.scratchVenv()
        let intact = try RealTunely.scratchVenv()
        try Files.keepFirstLines(damaged.sitePackages + "/tunely/server.py", 562)
        let targets = [intact, damaged, intact].enumerated().map { number, scratch in
            TargetConfig(
                name: "t\(number)", venv: scratch.venv, distribution: "tunely", version: "0.2.3",
                backup: scratch.backup)
        }

        let reports = CheckCommand.verifyAll(monitors(targets), threads: 2)

        #expect(reports.map(\.target) == ["t0", "t1", "t2"])
        #expect(reports.map(\.drifts.count) == [0, 1, 0])
        #expect(reports[1].drifts.first?.recordPath == "tunely/server.py")
    }

    /// Every distribution of the real tunely install at once, sharing one site-packages index:
    /// the same reports as one target after another.
    @Test func targetsVerifiedAtOnceMatchOneAfterAnother() throws {
        let venv = try RealTunely.installedVenv()
        let sitePackages = venv + "/" + RealTunely.sitePackagesSuffix
        let names = try FileManager.default.contentsOfDirectory(atPath: sitePackages)
            .filter { $0.hasSuffix(".dist-info") }.sorted()
            .map { String($0.dropLast(".dist-info".count).split(separator: "-")[0]) }
        try #require(names.count > 10)
        let targets = names.map {
            TargetConfig(name: $0, venv: venv, distribution: $0, version: nil, backup: venv + "/no-backup-" + $0)
        }

        let together = CheckCommand.verifyAll(monitors(targets), threads: 2)
        let inTurn = CheckCommand.verifyAll(monitors(targets), threads: 1)

        #expect(together == inTurn)
        #expect(together.map(\.target) == names)
        #expect(together.allSatisfy { $0.failure == nil && $0.filesChecked > 0 })
    }
}
