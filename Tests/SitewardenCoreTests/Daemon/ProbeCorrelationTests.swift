import Foundation
import Synchronization
import Testing

@testable import SitewardenCore

/// Route probes in the target's cycle: thresholds, the grace period, and the drift (or the
/// intact code) that explains a failing route.
@Suite("Probe thresholds and correlation with drift")
struct ProbeCorrelationTests {
    /// A loopback route whose status the test flips between cycles.
    final class Route: Sendable {
        private final class Code: Sendable {
            let value: Atomic<Int>
            init(_ value: Int) { self.value = Atomic(value) }
        }

        private let status: Code
        let server: LoopbackHTTPServer

        init(status initial: Int) throws {
            let status = Code(initial)
            self.status = status
            server = try LoopbackHTTPServer { _ in
                let code = status.value.load(ordering: .acquiring)
                return .respond(
                    status: code, body: code == 200 ? #"{"name":"Tunely Server"}"# : #"{"detail":"Not Found"}"#)
            }
        }

        func answer(_ code: Int) { status.value.store(code, ordering: .releasing) }
        var url: String { "http://127.0.0.1:\(server.port)/api/info" }
    }

    private func target(
        _ scratch: Scratch, _ route: Route, failureThreshold: Int = 1, successThreshold: Int = 1,
        grace: Duration = .zero
    ) -> TargetConfig {
        TargetConfig(
            name: "tunely", venv: scratch.venv, distribution: "tunely", version: "0.2.3", backup: scratch.backup,
            unit: "as-dispatch.service",
            routes: [
                RouteConfig(
                    url: route.url,
                    bodyChecks: [.jsonField(try! JSONFieldCheck.parse(#"name == "Tunely Server""#))],
                    timeout: .seconds(2), failureThreshold: failureThreshold, successThreshold: successThreshold)
            ],
            startupGrace: grace)
    }

    /// A scanner with the daemon's scan cache, trusting files as soon as they are hashed.
    private func cachedScanner(_ scratch: Scratch) -> FileScanner {
        let scanner = FileScanner(
            workers: 2, cache: ScanCache(stateDirectory: scratch.path, target: "tunely"), fullRehashEvery: 10)
        scanner.racyWindowNanoseconds = 0
        return scanner
    }

    @Test func theIncidentsFailingRouteIsExplainedByTheTruncatedFileInOneJournalEntry() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        let route = try Route(status: 404)
        let events = RecordingSink()
        let services = ScriptedServiceManager(onRestart: { route.answer(200) })
        let monitor = TargetMonitor(target: target(scratch, route), events: events)

        let health = monitor.runCycle(repair: true, services: services)

        let failed = try #require(events.first(.probeFailed))
        #expect(
            failed.message
                == "tunely: GET \(route.url) → 404 (expected 200); tunely/server.py truncated (562 of 1361 lines)")
        #expect(failed.field("CAUSE") == "drift")
        #expect(failed.field("DRIFTED_FILES") == "tunely/server.py")
        #expect(failed.field("ADDRESS") == "127.0.0.1:\(route.server.port)")
        #expect(failed.field("METHOD") == "GET")
        #expect(health == .healthy)
        #expect(services.restarted == ["as-dispatch.service"])
    }

    @Test func aNewlyFailingRouteWithCleanFilesTriggersAFullVerificationAndSaysTheCodeIsIntact() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let route = try Route(status: 200)
        let events = RecordingSink()
        let services = ScriptedServiceManager()
        let scanner = cachedScanner(scratch)
        let monitor = TargetMonitor(target: target(scratch, route), events: events, scanner: scanner)
        _ = monitor.runCycle(repair: true, services: services)
        _ = monitor.runCycle(repair: true, services: services)
        try #require(scanner.lastScan.fromCache == 18, "the second cycle trusts the cache")
        route.answer(500)

        let before = events.all(.checkCompleted).count
        let failing = monitor.runCycle(repair: true, services: services)
        let verificationsWhenFailing = events.all(.checkCompleted).count - before
        let fullWhenFailing = scanner.lastScan
        let still = monitor.runCycle(repair: true, services: services)

        #expect(failing == .probeFailing && still == .probeFailing)
        #expect(verificationsWhenFailing == 2, "the cached check, then a full one")
        #expect(fullWhenFailing.fullRehash && fullWhenFailing.hashed == 18)
        #expect(!scanner.lastScan.fullRehash, "a route that keeps failing does not rehash every cycle")
        let failed = try #require(events.first(.probeFailed))
        #expect(
            failed.message
                == "tunely: GET \(route.url) → 500 (expected 200); the code on disk is intact "
                + "(18 files verified in full): the problem is elsewhere; nothing restored")
        #expect(failed.field("CAUSE") == "elsewhere")
        #expect(events.all(.probeFailed).count == 1)
        #expect(services.restarted.isEmpty)
        #expect(!events.kinds.contains(.restoreStarted))
    }

    @Test func aRouteTurnsFailingAfterNFailuresInARowAndHealthyAfterMSuccesses() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let route = try Route(status: 503)
        let events = RecordingSink()
        let monitor = TargetMonitor(
            target: target(scratch, route, failureThreshold: 3, successThreshold: 2), events: events)

        let first = monitor.runCycle(repair: true, services: nil)
        let second = monitor.runCycle(repair: true, services: nil)
        let pending = monitor.probeStatuses
        let third = monitor.runCycle(repair: true, services: nil)
        route.answer(200)
        let fourth = monitor.runCycle(repair: true, services: nil)
        let fifth = monitor.runCycle(repair: true, services: nil)

        #expect([first, second] == [.healthy, .healthy])
        #expect(pending.map(\.state) == ["pending"] && pending.map(\.consecutiveFailures) == [2])
        #expect(third == .probeFailing)
        #expect(fourth == .probeFailing, "one success is not enough with success_threshold = 2")
        #expect(fifth == .healthy)
        #expect(events.kinds == [.probeFailed, .probeRecovered])
        #expect(events.first(.probeFailed)?.field("FAILURES") == "3")
    }

    @Test func failuresWithinTheStartupGraceDoNotCount() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let route = try Route(status: 502)
        let events = RecordingSink()
        let monitor = TargetMonitor(target: target(scratch, route, grace: .seconds(60)), events: events)
        var now: UInt64 = 1_000_000_000_000
        monitor.clock = { now }

        let atStart = monitor.runCycle(repair: true, services: nil)
        now += 59_000_000_000
        let justBefore = monitor.runCycle(repair: true, services: nil)
        now += 2_000_000_000
        let after = monitor.runCycle(repair: true, services: nil)

        #expect([atStart, justBefore] == [.healthy, .healthy])
        #expect(after == .probeFailing)
        #expect(events.kinds == [.probeFailed])
    }

    @Test func statusLineAndStatusFileCarryTheFailingRoutesReasonLatencyAndAddress() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let route = try Route(status: 404)
        let monitor = TargetMonitor(target: target(scratch, route), events: RecordingSink())
        _ = monitor.runCycle(repair: true, services: nil)

        StatusFile(directory: scratch.path + "/state").write(monitors: [monitor], cycles: 1)
        let status = try #require(try StatusFile(directory: scratch.path + "/state").read())

        let routeStatus = try #require(status.targets.first?.probes.first)
        #expect(
            monitor.statusLine
                == "tunely: probe-failing (18 files, 0/1 routes ok; GET \(route.url) → 404 (expected 200) "
                + "[\(routeStatus.latencyMs) ms, 127.0.0.1:\(route.server.port)])")
        #expect(routeStatus.state == "failing" && routeStatus.verdict == "unexpected-status")
        #expect(routeStatus.httpStatus == 404 && routeStatus.method == "GET")
        #expect(routeStatus.address == "127.0.0.1:\(route.server.port)")
        #expect(routeStatus.latencyMs >= 0 && routeStatus.latencyMs < 2000)
        #expect(routeStatus.line.hasSuffix("(\(routeStatus.latencyMs) ms) [failing, 127.0.0.1:\(route.server.port)]"))
        let config = try scratch.writeConfig()
        let output = try Shell.run([DaemonNotifyTests.binary, "--config", config, "status"])
        #expect(output.status == ExitCode.probeFailure.rawValue)
        #expect(output.output.contains("\n  route: FAIL \(routeStatus.line)\n"), "\(output.output)")
    }

    /// systemd's side of an external restart: the unit's ActiveEnterTimestampMonotonic.
    final class RestartedElsewhere: ServiceManager {
        var activeSince: UInt64?
        func restart(unit: String) -> Result<String, ServiceManagerError> { .success("done") }
        func serviceResult(unit: String) -> String? { nil }
        func resetFailed(unit: String) -> Bool { true }
        func activeSince(unit: String) -> UInt64? { activeSince }
    }

    @Test func aRestartBySomeoneElseStartsTheGracePeriodAgain() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let route = try Route(status: 200)
        let events = RecordingSink()
        let services = RestartedElsewhere()
        services.activeSince = 1_000_000_000
        let monitor = TargetMonitor(target: target(scratch, route, grace: .seconds(30)), events: events)
        var now: UInt64 = 3_600_000_000_000
        monitor.clock = { now }
        _ = monitor.runCycle(repair: true, services: services)
        route.answer(503)

        now += 1_000_000_000
        services.activeSince = now
        let justRestarted = monitor.runCycle(repair: true, services: services)
        now += 31_000_000_000
        let afterGrace = monitor.runCycle(repair: true, services: services)

        #expect(justRestarted == .healthy, "the unit became active 0 s ago: within its 30 s grace")
        #expect(afterGrace == .probeFailing)
        #expect(events.kinds == [.probeFailed])
    }
}
