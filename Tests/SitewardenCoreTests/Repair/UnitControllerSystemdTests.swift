import Glibc
import Testing

@testable import SitewardenCore

/// Restarts under a real systemd. `Tests/e2e/unit-restart.sh` boots a container with the units
/// named here and runs this suite inside it with `SITEWARDEN_E2E_SYSTEMD=1`; elsewhere it is skipped.
@Suite(
    .serialized,
    .enabled(if: getenv("SITEWARDEN_E2E_SYSTEMD") != nil, "needs systemd as PID 1: run Tests/e2e/unit-restart.sh")
)
struct UnitControllerSystemdTests {
    /// Which way the controller reaches systemd.
    enum Connection: String, CaseIterable, Sendable {
        case systemBus
        case privateSocket

        func open() throws -> UnitController {
            switch self {
            case .systemBus: try UnitController()
            case .privateSocket: try UnitController(address: UnitController.privateAddress)
            }
        }
    }

    @Test(arguments: Connection.allCases)
    func restartingAHealthyUnitReportsDoneAndLeavesItActive(connection: Connection) throws {
        let controller = try connection.open()

        let result = try controller.restart(unit: "sw-e2e-ok.service", timeout: .seconds(20))

        #expect(result == .done)
        #expect(try controller.activeState(unit: "sw-e2e-ok.service") == "active")
    }

    @Test func activeEnterTimestampIsOnTheMonotonicClockAndMovesOnWithEachRestart() throws {
        let controller = try UnitController()

        _ = try controller.restart(unit: "sw-e2e-ok.service", timeout: .seconds(20))
        let first = try controller.activeEnteredMonotonic(unit: "sw-e2e-ok.service")
        _ = try controller.restart(unit: "sw-e2e-ok.service", timeout: .seconds(20))
        let second = try controller.activeEnteredMonotonic(unit: "sw-e2e-ok.service")
        let now = CycleClock.now() / 1000

        #expect(first > 0 && second > first)
        #expect(second <= now && now - second < 10_000_000, "active \(second) µs, now \(now) µs")
        #expect(SystemdServiceManager().activeSince(unit: "sw-e2e-ok.service").map { $0 / 1000 } == second)
    }

    @Test(arguments: Connection.allCases)
    func restartingTwiceOverOneConnectionReportsDoneBothTimes(connection: Connection) throws {
        let controller = try connection.open()

        let first = try controller.restart(unit: "sw-e2e-ok.service", timeout: .seconds(20))
        let second = try controller.restart(unit: "sw-e2e-ok.service", timeout: .seconds(20))

        #expect([first, second] == [.done, .done])
    }

    @Test(arguments: Connection.allCases)
    func restartingAUnitWhoseStartFailsReportsFailed(connection: Connection) throws {
        let controller = try connection.open()

        let result = try controller.restart(unit: "sw-e2e-fail.service", timeout: .seconds(20))

        #expect(result == .failed)
        #expect(try controller.activeState(unit: "sw-e2e-fail.service") == "failed")
    }

    @Test(arguments: Connection.allCases)
    func restartingAMissingUnitNamesItAndSystemdsError(connection: Connection) throws {
        let controller = try connection.open()

        let error = #expect(throws: UnitControlError.self) {
            try controller.restart(unit: "sw-e2e-missing.service", timeout: .seconds(20))
        }

        #expect(error?.step == .restartUnit)
        #expect(error?.cause.busErrorName == "org.freedesktop.systemd1.NoSuchUnit")
        #expect(error?.description.contains("could not restart sw-e2e-missing.service: RestartUnit:") == true)
    }

    @Test func restartGivesUpAtTheDeadlineWhileTheJobRuns() throws {
        let controller = try UnitController()
        let clock = ContinuousClock()
        let start = clock.now

        let error = #expect(throws: UnitControlError.self) {
            try controller.restart(unit: "sw-e2e-slow.service", timeout: .seconds(1))
        }

        #expect(start.duration(to: clock.now) < .seconds(3))
        #expect(error?.cause == .deadlinePassed(.seconds(1)))
        guard case .waitForJob(let path) = error?.step else {
            Issue.record("expected the wait-for-job step, got \(String(describing: error?.step))")
            return
        }
        #expect(path.hasPrefix("/org/freedesktop/systemd1/job/"))
        #expect(try controller.activeState(unit: "sw-e2e-slow.service") == "activating")
    }

    @Test func activeStateOfAUnitSystemdHasNotLoadedComesFromLoadUnit() throws {
        let controller = try UnitController()

        #expect(try controller.activeState(unit: "sw-e2e-never-loaded.service") == "inactive")
    }

    @Test func unitThatHitsItsStartLimitSaysSoAndResetFailedClearsIt() throws {
        let controller = try UnitController()
        let unit = "sw-e2e-limited.service"
        try? controller.resetFailed(unit: unit)

        // StartLimitBurst=2: the third start within the interval is refused by systemd.
        var results = [UnitJobResult]()
        for _ in 0..<3 { results.append(try controller.restart(unit: unit, timeout: .seconds(20))) }
        let why = try controller.serviceResult(unit: unit)
        try controller.resetFailed(unit: unit)
        let afterReset = try controller.restart(unit: unit, timeout: .seconds(20))

        #expect(results == [.done, .done, .failed])
        #expect(why == "start-limit-hit")
        #expect(afterReset == .done)
    }

    @Test func crashedServiceResultIsNotTheStartLimit() throws {
        let controller = try UnitController()

        let result = try controller.restart(unit: "sw-e2e-fail.service", timeout: .seconds(20))

        #expect(result == .failed)
        #expect(try controller.serviceResult(unit: "sw-e2e-fail.service") == "exit-code")
    }
}

extension UnitControlError.Cause {
    fileprivate var busErrorName: String? {
        if case .busError(let name, _) = self { return name }
        return nil
    }
}
