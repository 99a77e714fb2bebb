import Foundation
import Synchronization
import Testing

@testable import SitewardenCore

/// A read that never returns must cost one file, not the cycle or the watchdog (CASES 9).
@Suite("Stalled reads time out per file")
struct StallGuardTests {
    /// Beat times as the watchdog's heartbeat sees them.
    final class BeatLog {
        var times: [ContinuousClock.Instant] = []

        func beat() { times.append(.now) }

        /// The longest silence between consecutive beats, from `start` to `end` included.
        func longestGap(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) -> Duration {
            let points = [start] + times + [end]
            return zip(points.dropFirst(), points).map { $0 - $1 }.max() ?? .zero
        }
    }

    @Test func returnsTheResultOfWorkThatFinishes() {
        let stallGuard = StallGuard(deadline: .seconds(5))

        let first = stallGuard.run { _ in 6 * 7 }
        let second = stallGuard.run { _ in "again" }

        #expect(first == 42)
        #expect(second == "again")
        #expect(stallGuard.abandonedWorkers == 0)
    }

    @Test func givesUpOnWorkThatBlocksAndKeepsTheHeartbeatBeating() {
        let stallGuard = StallGuard(deadline: .milliseconds(500))
        let heartbeat = Heartbeat()
        let beats = BeatLog()
        heartbeat.cycleStarted()
        let started = ContinuousClock.now

        let keepBeating = {
            heartbeat.beat()
            beats.beat()
        }
        let result = stallGuard.run(waiting: keepBeating) { _ in
            sleep(10)
            return true
        }
        let ended = ContinuousClock.now

        #expect(result == nil)
        #expect(ended - started >= .milliseconds(500))
        #expect(ended - started < .seconds(3), "the guard waited \(ended - started)")
        #expect(beats.longestGap(from: started, to: ended) < .milliseconds(250))
        #expect(heartbeat.isAlive(within: .milliseconds(250)))
        #expect(stallGuard.abandonedWorkers == 1)
    }

    @Test func givesUpOnARealBlockingReadAndUsesAFreshThreadAfterwards() throws {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        defer { close(ends[1]) }
        let readEnd = ends[0]
        let stallGuard = StallGuard(deadline: .milliseconds(300))
        let started = ContinuousClock.now

        let stalled = stallGuard.run { _ in
            var byte: UInt8 = 0
            return read(readEnd, &byte, 1)
        }
        let waited = ContinuousClock.now - started
        let afterwards = stallGuard.run { _ in "fresh worker" }
        // Lets the abandoned thread's read return so it can retire, then closes the pipe.
        _ = write(ends[1], "x", 1)
        usleep(50_000)
        close(readEnd)

        #expect(stalled == nil)
        #expect(waited < .seconds(3), "the guard waited \(waited)")
        #expect(afterwards == "fresh worker")
        #expect(stallGuard.abandonedWorkers == 1)
    }

    @Test func progressReArmsTheDeadline() {
        let stallGuard = StallGuard(deadline: .milliseconds(300))

        let result = stallGuard.run { advanced in
            for _ in 0..<10 {
                usleep(100_000)
                advanced()
            }
            return "a slow read that keeps moving"
        }

        #expect(result == "a slow read that keeps moving")
        #expect(stallGuard.abandonedWorkers == 0)
    }

    @Test func timedOutReadIsNotRestored() {
        let error = StallGuard.timedOut("/venv/x.py", after: .seconds(30))
        let drift = FileDrift(
            recordPath: "tunely/x.py", venvPath: "lib/x.py", kind: .unreadable(error), expectedSHA256: nil,
            expectedSize: nil, actualSHA256: nil, actualSize: nil, disagreesWithRecord: true,
            disagreesWithBaseline: false)
        let denied = FileDrift(
            recordPath: "tunely/x.py", venvPath: "lib/x.py", kind: .unreadable(SystemError("open", "x", code: EACCES)),
            expectedSHA256: nil, expectedSize: nil, actualSHA256: nil, actualSize: nil, disagreesWithRecord: true,
            disagreesWithBaseline: false)

        #expect(drift.isStalledRead)
        #expect(!denied.isStalledRead)
        #expect("\(error)" == "read /venv/x.py: no data for 30.000s, given up for this cycle")
    }

    @Test func scannerHashesTheRealInstallThroughTheGuard() throws {
        let scratch = try RealTunely.scratchVenv()
        let server = scratch.sitePackages + "/tunely/server.py"
        let scanner = FileScanner(readTimeout: .seconds(5))

        let states = scanner.observe([server, scratch.sitePackages + "/tunely/absent.py"], progress: {})

        guard case .present(let facts) = states[0] else {
            Issue.record("server.py: \(states[0])")
            return
        }
        #expect(facts.sha256.hex == (try Files.sha256(server)))
        #expect(states[1] == .missing)
    }
}
