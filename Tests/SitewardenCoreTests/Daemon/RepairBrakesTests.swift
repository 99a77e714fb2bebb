import Foundation
import Synchronization
import Testing

@testable import SitewardenCore

/// Observe mode, flapping, ineffective repairs and installers (CASES 12): a repair that cannot loop.
@Suite("Repair brakes: observe mode, flapping, ineffective repairs, installers")
struct RepairBrakesTests {
    typealias InfoRoute = TargetMonitorTests.InfoRoute

    /// A clock the test moves by hand, in monotonic nanoseconds.
    final class ManualClock: Sendable {
        private let nanoseconds = Atomic<UInt64>(1_000_000_000)
        var now: UInt64 { nanoseconds.load(ordering: .relaxed) }
        func advance(_ duration: Duration) { nanoseconds.add(duration.nanoseconds, ordering: .relaxed) }
    }

    private func target(_ scratch: Scratch, url: String, mode: RepairMode = .repair) -> TargetConfig {
        TargetConfig(
            name: "tunely", venv: scratch.venv, distribution: "tunely", version: "0.2.3", backup: scratch.backup,
            unit: "as-dispatch.service",
            routes: [RouteConfig(url: url, expectStatus: 200, expectBody: "Tunely Server", timeout: .seconds(2))],
            mode: mode)
    }

    /// A scratch copy of the real tunely install with its baseline recorded, and its server.py.
    private static func recordedTunely() throws -> (Scratch, String) {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        return (scratch, scratch.sitePackages + "/tunely/server.py")
    }

    private func monitor(_ config: TargetConfig, _ events: RecordingSink, clock: ManualClock? = nil) -> TargetMonitor {
        let monitor = TargetMonitor(target: config, events: events)
        if let clock { monitor.clock = { clock.now } }
        return monitor
    }

    @Test func observeModeReportsDriftButRestoresAndRestartsNothing() throws {
        let (scratch, server) = try Self.recordedTunely()
        try Files.keepFirstLines(server, 562)
        let route = try InfoRoute(serving: false)
        let services = ScriptedServiceManager()
        let events = RecordingSink()
        let monitor = monitor(target(scratch, url: route.url, mode: .observe), events)
        monitor.quarantine = Quarantine(stateDirectory: scratch.path + "/state", target: "tunely", limit: 1 << 20)

        let first = monitor.runCycle(repair: true, services: services)
        let second = monitor.runCycle(repair: true, services: services)

        #expect(first == .drifted && second == .drifted)
        #expect(services.restarted.isEmpty)
        #expect(events.kinds == [.driftFound, .probeFailed])
        #expect(try Files.lineCount(server) == 562)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/state/quarantine"))
        #expect(monitor.statusLine.contains("tunely: drifted (18 files, 0/1 routes ok; observe only"))
    }

    @Test func restoresBeyondTheLimitMakeTheTargetFlappingWithADoublingBackOff() throws {
        let (scratch, server) = try Self.recordedTunely()
        let route = try InfoRoute(serving: true)
        let services = ScriptedServiceManager()
        let events = RecordingSink()
        let clock = ManualClock()
        let monitor = monitor(target(scratch, url: route.url), events, clock: clock)
        // A cron job rewrites server.py every minute.
        func rewriteAndCycle() throws -> TargetHealth {
            try Files.keepFirstLines(server, 562)
            defer { clock.advance(.seconds(60)) }
            return monitor.runCycle(repair: true, services: services)
        }

        let healed = try (0..<3).map { _ in try rewriteAndCycle() }
        let flapping = try (0..<5).map { _ in try rewriteAndCycle() }
        let checksWhileFlapping = events.all(.checkCompleted).count

        #expect(healed == [.healthy, .healthy, .healthy])
        #expect(flapping == Array(repeating: .flapping, count: 5))
        #expect(events.all(.restoreDone).count == 3)
        #expect(services.restarted.count == 3)
        #expect(try Files.lineCount(server) == 562)
        let alert = try #require(events.first(.flapping))
        #expect(events.all(.flapping).count == 1)
        #expect(alert.kind.priority == .critical)
        #expect(alert.field("RESTORES") == "3")
        #expect(alert.field("WINDOW") == "600.000s")
        #expect(alert.field("BACKOFF") == "600.000s")
        #expect(monitor.statusLine.contains("flapping: 3 restores within 600.000s; restores paused for 600.000s"))

        // The back-off ends: restores resume; flapping again pauses twice as long.
        clock.advance(.seconds(600))
        let resumed = try (0..<3).map { _ in try rewriteAndCycle() }
        let again = try rewriteAndCycle()

        #expect(resumed == [.healthy, .healthy, .healthy])
        #expect(again == .flapping)
        #expect(events.all(.restoreDone).count == 6)
        #expect(events.all(.flapping).map { $0.field("BACKOFF") } == ["600.000s", "1200.000s"])
        #expect(events.all(.checkCompleted).count > checksWhileFlapping, "monitoring goes on every cycle")
    }

    @Test func restoreWhoseRoutesStayDownEscalatesOnceAndIsNotRepeatedForTheSameDamage() throws {
        let (scratch, server) = try Self.recordedTunely()
        let route = try InfoRoute(serving: false)
        let services = ScriptedServiceManager()
        let events = RecordingSink()
        let monitor = monitor(target(scratch, url: route.url), events)
        monitor.recoveryDeadline = .milliseconds(300)

        try Files.keepFirstLines(server, 562)
        let first = monitor.runCycle(repair: true, services: services)
        try Files.keepFirstLines(server, 562)
        let sameDamage = monitor.runCycle(repair: true, services: services)
        let sameDamageAgain = monitor.runCycle(repair: true, services: services)

        #expect(first == .probeFailing)
        #expect(sameDamage == .drifted && sameDamageAgain == .drifted)
        #expect(events.all(.restoreStarted).count == 1)
        #expect(services.restarted.count == 1)
        let escalation = try #require(events.first(.repairIneffective))
        #expect(events.all(.repairIneffective).count == 1)
        #expect(escalation.field("FILES") == "tunely/server.py")
        #expect(escalation.field("UNIT") == "as-dispatch.service")
        #expect(monitor.statusLine.contains("restores withheld"))

        // Other damage is restored; so is the same damage once the operator steps in (a reload).
        try Files.keepFirstLines(server, 100)
        _ = monitor.runCycle(repair: true, services: services)
        #expect(events.all(.restoreStarted).count == 2)
        try Files.keepFirstLines(server, 100)
        monitor.resetRepairGuard()
        _ = monitor.runCycle(repair: true, services: services)
        #expect(events.all(.restoreStarted).count == 3)
    }

    @Test func damageReturningWhileTheServiceRestartsIsNewDriftNotAnIneffectiveRepair() throws {
        let (scratch, server) = try Self.recordedTunely()
        let route = try InfoRoute(serving: false)
        // The cron job of CASES.md 12 strikes again while the unit is coming back up.
        let services = ScriptedServiceManager(onRestart: {
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(300)) {
                try? Files.keepFirstLines(server, 562)
            }
        })
        let events = RecordingSink()
        let monitor = monitor(target(scratch, url: route.url), events)
        monitor.recoveryDeadline = .seconds(3)

        try Files.keepFirstLines(server, 562)
        let first = monitor.runCycle(repair: true, services: services)
        usleep(400_000)
        let second = monitor.runCycle(repair: true, services: services)

        #expect(first == .drifted)
        #expect(events.all(.repairIneffective).isEmpty)
        #expect(second == .drifted)
        #expect(events.all(.restoreStarted).count == 2, "the same damage again is restored again, and counted")
        #expect(!monitor.statusLine.contains("restores withheld"))
    }

    @Test func anotherSitewardenRestoringTheTargetDefersTheRestoreUntilItIsDone() throws {
        let (scratch, server) = try Self.recordedTunely()
        let route = try InfoRoute(serving: true)
        let services = ScriptedServiceManager()
        let events = RecordingSink()
        let monitor = monitor(target(scratch, url: route.url), events)
        monitor.quarantine = Quarantine(stateDirectory: scratch.path + "/state", target: "tunely", limit: 1 << 30)
        try FileManager.default.createDirectory(atPath: scratch.path + "/state", withIntermediateDirectories: true)
        try Files.keepFirstLines(server, 562)

        var other = RestoreLock.acquire(stateDirectory: scratch.path + "/state", target: "tunely")
        let heldByTheTest = other != nil
        let whileHeld = monitor.runCycle(repair: true, services: services)
        let linesWhileHeld = try Files.lineCount(server)
        other = nil
        let afterwards = monitor.runCycle(repair: true, services: services)

        #expect(heldByTheTest)
        #expect(whileHeld == .drifted && linesWhileHeld == 562)
        #expect(events.first(.restoreDeferred)?.field("REASON") == "another sitewarden is restoring tunely")
        #expect(afterwards == .healthy)
        #expect(try Files.lineCount(server) == RealTunely.serverPyLines)
    }

    @Test func aRestoreOfFilesAnotherSitewardenRestoredMeanwhileRestoresAndQuarantinesNothing() throws {
        let (scratch, server) = try Self.recordedTunely()
        let route = try InfoRoute(serving: true)
        let services = ScriptedServiceManager()
        let quarantine = Quarantine(stateDirectory: scratch.path + "/state", target: "tunely", limit: 1 << 30)
        let first = monitor(target(scratch, url: route.url), RecordingSink())
        let second = monitor(target(scratch, url: route.url), RecordingSink())
        first.quarantine = quarantine
        second.quarantine = quarantine
        try Files.keepFirstLines(server, 562)
        let stale = first.verify()

        let secondRestored = second.repair(second.verify(), services: services)
        let firstOutcome = first.repair(stale, services: services)
        let kept = try FileManager.default.contentsOfDirectory(atPath: quarantine.root + "/tunely")

        #expect(stale.drifts.map(\.recordPath) == ["tunely/server.py"])
        #expect(secondRestored == .healthy)
        #expect(firstOutcome == .healthy)
        #expect(kept.count == 1, "one restore, one quarantine session: \(kept)")
        #expect(services.restarted.count == 1)
    }

    @Test func filesRewrittenFasterThanTheQuietPeriodForAWholeWindowAreRestoredAndEndFlapping() throws {
        let (scratch, server) = try Self.recordedTunely()
        let route = try InfoRoute(serving: true)
        let services = ScriptedServiceManager()
        let events = RecordingSink()
        let clock = ManualClock()
        let monitor = monitor(target(scratch, url: route.url), events, clock: clock)
        // A loop rewriting server.py every second: the directory is never quiet for 2 s.
        monitor.changedRecently = { true }
        func rewriteAndCycle(after pause: Duration) throws -> TargetHealth {
            try Files.keepFirstLines(server, 562)
            clock.advance(pause)
            return monitor.runCycle(repair: true, services: services)
        }

        let withinTheWindow = try (0..<5).map { _ in try rewriteAndCycle(after: .seconds(60)) }
        let restoredBefore = events.all(.restoreDone).count
        clock.advance(.seconds(400))
        let pastTheWindow = try (0..<5).map { _ in try rewriteAndCycle(after: .seconds(60)) }

        #expect(withinTheWindow == Array(repeating: .drifted, count: 5), "an installer may still be writing")
        #expect(restoredBefore == 0)
        #expect(events.all(.restoreDone).count == 3, "restored once the window passed, up to max_restores")
        #expect(pastTheWindow.last == .flapping)
        #expect(events.all(.flapping).count == 1)
    }

    @Test func filesThatAlreadyMatchAreNeverRestoredAgain() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        let route = try InfoRoute(serving: true)
        let services = ScriptedServiceManager()
        let events = RecordingSink()
        let monitor = monitor(target(scratch, url: route.url), events)

        let healths = (0..<4).map { _ in monitor.runCycle(repair: true, services: services) }

        #expect(healths == [.healthy, .healthy, .healthy, .healthy])
        #expect(events.all(.restoreStarted).count == 1)
        #expect(services.restarted.count == 1)
    }

    @Test func uvHoldingTheVenvLockDefersTheRestoreUntilItIsReleased() throws {
        let (scratch, server) = try Self.recordedTunely()
        try Files.keepFirstLines(server, 562)
        let route = try InfoRoute(serving: true)
        let services = ScriptedServiceManager()
        let events = RecordingSink()
        let monitor = monitor(target(scratch, url: route.url), events)
        // What `uv pip install` does for the whole install: an exclusive flock on <venv>/.lock.
        let lock = open(scratch.venv + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o666)
        try #require(lock >= 0 && flock(lock, LOCK_EX) == 0)

        let whileLocked = (0..<2).map { _ in monitor.runCycle(repair: true, services: services) }
        let linesWhileLocked = try Files.lineCount(server)
        flock(lock, LOCK_UN)
        close(lock)
        let afterwards = monitor.runCycle(repair: true, services: services)

        #expect(whileLocked == [.drifted, .drifted])
        #expect(linesWhileLocked == 562)
        #expect(events.all(.restoreDeferred).count == 1)
        let deferred = try #require(events.first(.restoreDeferred))
        #expect(deferred.message.contains("restore deferred: uv holds"))
        #expect(deferred.field("REASON")?.hasSuffix("/.lock") == true)
        #expect(deferred.kind.priority == .info)
        #expect(afterwards == .healthy)
        #expect(services.restarted == ["as-dispatch.service"])
        #expect(try Files.lineCount(server) == RealTunely.serverPyLines)
    }

    @Test func restoreHoldsTheVenvLockSoAnInstallerStartingMeanwhileWaits() throws {
        let scratch = try RealTunely.scratchVenv()
        FileManager.default.createFile(atPath: scratch.venv + "/.lock", contents: nil)

        let held = try #require(InstallerLock.acquireShared(venv: scratch.venv))
        let installer = try withExtendedLifetime(held) {
            try Shell.run(["flock", "-n", "-x", scratch.venv + "/.lock", "true"])
        }

        #expect(installer.status == 1, "uv's exclusive flock must not be granted while a restore runs")
        #expect(InstallerLock.acquireShared(venv: scratch.path + "/no-lock-file") != nil)
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/no-lock-file/.lock"))
    }

    @Test func aChangeWithinTheQuietPeriodDefersTheRestore() throws {
        let (scratch, server) = try Self.recordedTunely()
        let route = try InfoRoute(serving: true)
        let services = ScriptedServiceManager()
        let events = RecordingSink()
        let config = target(scratch, url: route.url)
        let watcher = try ChangeWatcher(
            quietPeriod: .milliseconds(700), queue: DispatchQueue(label: "test.quiet"), onQuiet: {},
            onUnavailable: { _ in })
        watcher.watch(WatchRoots.of(config))
        watcher.settle()
        let monitor = monitor(config, events)
        monitor.changedRecently = { watcher.changedWithinQuietPeriod() }

        try Files.keepFirstLines(server, 562)
        let deadline = ContinuousClock.now + .seconds(2)
        while !watcher.changedWithinQuietPeriod() && ContinuousClock.now < deadline { usleep(5_000) }
        let duringInstall = monitor.runCycle(repair: true, services: services)
        usleep(800_000)
        let afterQuiet = monitor.runCycle(repair: true, services: services)

        #expect(duringInstall == .drifted)
        #expect(
            events.first(.restoreDeferred)?.field("REASON") == "the package directory changed within the quiet period")
        #expect(afterQuiet == .healthy)
        #expect(try Files.lineCount(server) == RealTunely.serverPyLines)
    }
}
