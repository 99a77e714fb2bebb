import Foundation
import Synchronization
import Testing

@testable import SitewardenCore

@Suite("A target's cycle: verify, probe, repair, confirm")
struct TargetMonitorTests {
    /// A loopback stand-in for tunely's /api/info: 404 while not serving, as the damaged server
    /// answered, and the real body once the restored code is "loaded" by a restart.
    final class InfoRoute: Sendable {
        private final class Switch: Sendable {
            let on: Atomic<Bool>
            init(_ on: Bool) { self.on = Atomic(on) }
        }

        private let serving: Switch
        let server: LoopbackHTTPServer

        init(serving: Bool) throws {
            let serving = Switch(serving)
            self.serving = serving
            server = try LoopbackHTTPServer { _ in
                serving.on.load(ordering: .acquiring)
                    ? .respond(status: 200, body: #"{"name":"Tunely Server","version":"0.2.0"}"#)
                    : .respond(status: 404, body: #"{"detail":"Not Found"}"#)
            }
        }

        func startServing() { serving.on.store(true, ordering: .releasing) }
        var url: String { "http://127.0.0.1:\(server.port)/api/info" }
    }

    func target(_ scratch: Scratch, url: String) -> TargetConfig {
        TargetConfig(
            name: "tunely", venv: scratch.venv, distribution: "tunely", version: "0.2.3", backup: scratch.backup,
            unit: "as-dispatch.service",
            routes: [RouteConfig(url: url, expectStatus: 200, expectBody: "Tunely Server", timeout: .seconds(2))])
    }

    @Test func healsTheIncidentAndReportsEachStep() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let server = scratch.sitePackages + "/tunely/server.py"
        let goodDigest = try Files.sha256(server)
        try Files.keepFirstLines(server, 562)
        let route = try InfoRoute(serving: false)
        let services = ScriptedServiceManager(onRestart: route.startServing)
        let events = RecordingSink()
        let monitor = TargetMonitor(target: target(scratch, url: route.url), events: events)

        let health = monitor.runCycle(repair: true, services: services)

        #expect(health == .healthy)
        #expect(services.restarted == ["as-dispatch.service"])
        #expect(try Files.sha256(server) == goodDigest)
        #expect(
            events.kinds == [
                .driftFound, .probeFailed, .restoreStarted, .restoreDone, .unitRestarted, .probeRecovered,
                .targetRecovered,
            ])
        let drift = try #require(events.first(.driftFound))
        #expect(drift.field("FILE") == "tunely/server.py")
        #expect(drift.field("DRIFT") == "truncated")
        #expect(drift.field("KEPT_LINES") == "562")
        #expect(drift.field("TOTAL_LINES") == "1361")
        #expect(drift.field("EXPECTED_SHA256") == goodDigest)
        #expect(drift.message.contains("prefix of the known-good file, 562 of 1361 lines"))
        #expect(events.first(.probeFailed)?.field("HTTP_STATUS") == "404")
    }

    @Test func damagedBackupRefusesRestoreAndDoesNotRestartTheUnit() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        try Files.overwriteInPlace(
            scratch.backup + "/files/" + RealTunely.sitePackagesSuffix + "/tunely/server.py", with: Data("x".utf8))
        let route = try InfoRoute(serving: false)
        let services = ScriptedServiceManager()
        let events = RecordingSink()

        let health = TargetMonitor(target: target(scratch, url: route.url), events: events)
            .runCycle(repair: true, services: services)

        #expect(health == .degraded)
        #expect(services.restarted.isEmpty)
        #expect(events.kinds == [.driftFound, .probeFailed, .restoreStarted, .backupDamaged])
        #expect(events.first(.backupDamaged)?.message.contains("backup damaged: tunely/server.py") == true)
        #expect(events.first(.backupDamaged)?.kind.priority == .critical)
        #expect(try Files.lineCount(scratch.sitePackages + "/tunely/server.py") == 562)
    }

    @Test func driftWithoutABaselineIsReportedAndNothingIsRestarted() throws {
        let scratch = try RealTunely.scratchVenv()
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        let route = try InfoRoute(serving: false)
        let services = ScriptedServiceManager()
        let events = RecordingSink()

        let health = TargetMonitor(target: target(scratch, url: route.url), events: events)
            .runCycle(repair: true, services: services)

        #expect(health == .degraded)
        #expect(services.restarted.isEmpty)
        #expect(events.kinds == [.driftFound, .probeFailed, .restoreFailed])
        #expect(events.first(.restoreFailed)?.message.contains("no baseline recorded in \(scratch.backup)") == true)
    }

    @Test func unreachableRouteWithIntactFilesRestoresNothingAndIsReportedOnce() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let route = try InfoRoute(serving: true)
        let url = route.url
        route.server.stop()
        let services = ScriptedServiceManager()
        let events = RecordingSink()
        let monitor = TargetMonitor(target: target(scratch, url: url), events: events)

        let first = monitor.runCycle(repair: true, services: services)
        let second = monitor.runCycle(repair: true, services: services)

        #expect(first == .probeFailing && second == .probeFailing)
        #expect(services.restarted.isEmpty)
        #expect(events.kinds == [.probeFailed])
        #expect(events.first(.probeFailed)?.message.contains("127.0.0.1:\(route.server.port)") == true)
    }

    @Test func restartThatFailsIsReportedAndTheTargetStaysDegraded() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        let route = try InfoRoute(serving: false)
        let services = ScriptedServiceManager(result: .success("failed"))
        let events = RecordingSink()

        let health = TargetMonitor(target: target(scratch, url: route.url), events: events)
            .runCycle(repair: true, services: services)

        #expect(health == .degraded)
        #expect(events.kinds.suffix(2) == [.restoreDone, .unitRestartFailed])
        #expect(events.first(.unitRestartFailed)?.field("JOB_RESULT") == "failed")
        #expect(try Files.lineCount(scratch.sitePackages + "/tunely/server.py") == RealTunely.serverPyLines)
    }

    @Test func missingVenvIsReportedAsCannotVerify() throws {
        let scratch = try Scratch()
        let events = RecordingSink()
        let config = TargetConfig(
            name: "tunely", venv: scratch.path + "/no-venv", distribution: "tunely", backup: scratch.backup)

        let health = TargetMonitor(target: config, events: events).runCycle(repair: true, services: nil)

        #expect(health == .degraded)
        #expect(events.kinds == [.verificationFailed])
        #expect(events.first(.verificationFailed)?.message.contains(scratch.path + "/no-venv") == true)
    }
}

extension TargetMonitorTests {
    @Test func probeFailureNamesItsReasonInOneWord() throws {
        let scratch = try RealTunely.scratchVenv()
        let route = try InfoRoute(serving: false)
        let events = RecordingSink()

        _ = TargetMonitor(target: target(scratch, url: route.url), events: events).runCycle(repair: true, services: nil)

        #expect(events.first(.probeFailed)?.field("REASON") == "unexpected-status")
    }
}

extension TargetMonitorTests {
    @Test func failedRestartIsRetriedNextCycleEvenThoughTheFilesAreClean() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        let route = try InfoRoute(serving: false)
        let failing = ScriptedServiceManager(result: .failure(ServiceManagerError(description: "bus gone")))
        let working = ScriptedServiceManager(onRestart: route.startServing)
        let events = RecordingSink()
        let monitor = TargetMonitor(target: target(scratch, url: route.url), events: events)

        let first = monitor.runCycle(repair: true, services: failing)
        let second = monitor.runCycle(repair: true, services: working)
        let third = monitor.runCycle(repair: true, services: working)

        #expect(first == .degraded && second == .healthy && third == .healthy)
        #expect(working.restarted == ["as-dispatch.service"])
        #expect(
            events.kinds.filter { $0 == .unitRestartFailed || $0 == .unitRestarted } == [
                .unitRestartFailed, .unitRestarted,
            ])
        #expect(events.kinds.last == .targetRecovered)
    }
}

extension TargetMonitorTests {
    @Test func persistingConditionsAreReportedOnceNotEveryCycle() throws {
        let scratch = try RealTunely.scratchVenv()
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        let route = try InfoRoute(serving: false)
        let events = RecordingSink()
        let monitor = TargetMonitor(target: target(scratch, url: route.url), events: events)

        for _ in 0..<3 { _ = monitor.runCycle(repair: false, services: nil) }
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 100)
        _ = monitor.runCycle(repair: false, services: nil)

        #expect(events.kinds == [.driftFound, .probeFailed, .driftFound])
        #expect(events.events.filter { $0.kind == .driftFound }.last?.message.contains("modified") == true)
    }

    @Test func persistingVerificationFailureIsReportedOnce() throws {
        let scratch = try Scratch()
        let events = RecordingSink()
        let config = TargetConfig(
            name: "tunely", venv: scratch.path + "/no-venv", distribution: "tunely", backup: scratch.backup)
        let monitor = TargetMonitor(target: config, events: events)

        for _ in 0..<3 { _ = monitor.runCycle(repair: true, services: nil) }

        #expect(events.kinds == [.verificationFailed])
    }
}

extension TargetMonitorTests {
    @Test func startLimitHitIsItsOwnEventReportedOnceAndResetOnceAfterTheWindowWhenAllowed() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        let route = try InfoRoute(serving: false)
        let services = ScriptedServiceManager(result: .success("failed"), onRestart: route.startServing)
        services.lastServiceResult = "start-limit-hit"
        let events = RecordingSink()
        var config = target(scratch, url: route.url)
        config.resetStartLimit = true
        config.restoreWindow = .seconds(600)
        let monitor = TargetMonitor(target: config, events: events)
        var now: UInt64 = 1_000_000_000
        monitor.clock = { now }

        let first = monitor.runCycle(repair: true, services: services)
        let second = monitor.runCycle(repair: true, services: services)
        now += 601 * 1_000_000_000
        services.result = .success("done")
        services.lastServiceResult = "success"
        let third = monitor.runCycle(repair: true, services: services)

        #expect(first == .degraded && second == .degraded)
        #expect(events.kinds.filter { $0 == .startLimitHit }.count == 1)
        #expect(events.first(.startLimitHit)?.field("SERVICE_RESULT") == "start-limit-hit")
        #expect(!events.kinds.contains(.unitRestartFailed))
        #expect(services.resets == ["as-dispatch.service"])
        #expect(third == .healthy)
        #expect(events.kinds.contains(.unitRestarted))
    }

    @Test func crashedRestartNamesTheServiceResult() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        let route = try InfoRoute(serving: false)
        let services = ScriptedServiceManager(result: .success("failed"))
        services.lastServiceResult = "exit-code"
        let events = RecordingSink()

        _ = TargetMonitor(target: target(scratch, url: route.url), events: events).runCycle(
            repair: true, services: services)

        #expect(events.first(.unitRestartFailed)?.message.contains("ended with result failed (exit-code)") == true)
        #expect(services.resets.isEmpty)
    }
}

extension TargetMonitorTests {
    @Test func wholePackageDirectoryGoneIsCriticalOnceAndRestored() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try FileManager.default.removeItem(atPath: scratch.sitePackages + "/tunely")
        let route = try InfoRoute(serving: false)
        let events = RecordingSink()
        let monitor = TargetMonitor(target: target(scratch, url: route.url), events: events)

        _ = monitor.runCycle(repair: false, services: nil)
        _ = monitor.runCycle(repair: false, services: nil)
        let repaired = monitor.runCycle(
            repair: true, services: ScriptedServiceManager(onRestart: route.startServing))

        #expect(events.kinds.filter { $0 == .packageMissing }.count == 1)
        #expect(events.first(.packageMissing)?.field("PACKAGE") == "tunely")
        #expect(events.first(.packageMissing)?.kind.priority == .critical)
        #expect(repaired == .healthy)
        #expect(try Files.lineCount(scratch.sitePackages + "/tunely/server.py") == RealTunely.serverPyLines)
    }

    @Test func someMissingFilesInAPresentPackageAreNotAMissingPackage() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        unlink(scratch.sitePackages + "/tunely/cli.py")
        let events = RecordingSink()

        _ = TargetMonitor(target: target(scratch, url: "http://127.0.0.1:9/"), events: events)
            .runCycle(repair: false, services: nil)

        #expect(events.kinds.contains(.driftFound))
        #expect(!events.kinds.contains(.packageMissing))
    }
}

extension TargetMonitorTests {
    @Test func statusShowsRestoringWhileARestoreRunsThenWhenItHappened() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        let route = try InfoRoute(serving: false)
        let monitor = TargetMonitor(target: target(scratch, url: route.url), events: RecordingSink())
        var published: [TargetStatus] = []
        monitor.onRestoreStarted = { published.append(TargetStatus(monitor)) }
        let before = Int(time(nil))

        let health = monitor.runCycle(repair: true, services: ScriptedServiceManager(onRestart: route.startServing))
        let after = TargetStatus(monitor)

        #expect(health == .healthy)
        #expect(published.map(\.state) == [.restoring])
        #expect(published.first?.drifts.map(\.file) == ["tunely/server.py"])
        #expect(after.state == .healthy && after.restores == 1)
        #expect((after.lastRestoreAt ?? 0) >= before && (after.lastDriftAt ?? 0) >= before)
        #expect(after.lastCheckDurationMs != nil && after.probes.map(\.passed) == [true])
    }
}
