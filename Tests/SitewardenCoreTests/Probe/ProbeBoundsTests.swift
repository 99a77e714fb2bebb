import Synchronization
import Testing

@testable import SitewardenCore

/// Hung and slow servers: every probe ends within its timeout (measured, with a wide margin), and
/// the caller hears progress meanwhile, which is what keeps the daemon's watchdog pinging.
@Suite struct ProbeBoundsTests {
    /// Counts `progress` calls; the session calls it from the calling thread only.
    final class Beats: @unchecked Sendable {
        var count = 0
    }

    @Test func aServerThatAcceptsAndNeverAnswersTimesOutWithinItsTimeoutWhileProgressIsReported() throws {
        let server = try LoopbackHTTPServer { _ in .silence }
        defer { server.stop() }
        let beats = Beats()
        let started = ContinuousClock.now

        let results = ProbeSession().run(
            [ProbeRequest(url: "http://127.0.0.1:\(server.port)/api/info", timeout: .seconds(2))],
            progress: { beats.count += 1 })

        let elapsed = started.duration(to: .now)
        #expect(results[0].verdict == .timedOut)
        #expect(elapsed >= .milliseconds(1900) && elapsed < .seconds(4), "\(elapsed)")
        #expect(beats.count >= 10, "progress every ≤100 ms for 2 s, got \(beats.count)")
        #expect(results[0].summary.contains("(limit 2000 ms; tried 127.0.0.1:\(server.port))"))
    }

    @Test func aStatusLineThenOneByteEveryFewSecondsTimesOutOnTheTotalBound() throws {
        let server = try LoopbackHTTPServer { _ in .drip(interval: .seconds(2)) }
        defer { server.stop() }
        let started = ContinuousClock.now

        let result = HTTPProbe().run(ProbeRequest(url: "http://127.0.0.1:\(server.port)/", timeout: .seconds(3)))

        let elapsed = started.duration(to: .now)
        #expect(result.verdict == .timedOut)
        #expect(elapsed < .seconds(5), "\(elapsed)")
        #expect(result.address == "127.0.0.1:\(server.port)")
    }

    @Test func aServerAnsweringSlowlyButUnderTheTimeoutPasses() throws {
        let server = try LoopbackHTTPServer { _ in .slow(delay: .milliseconds(1200), status: 200, body: "Tunely Server")
        }
        defer { server.stop() }

        let result = HTTPProbe().run(
            ProbeRequest(
                url: "http://127.0.0.1:\(server.port)/api/info", expectBody: "Tunely Server", timeout: .seconds(4)))

        #expect(result.verdict == .passed)
        #expect(result.elapsed >= .milliseconds(1100) && result.elapsed < .seconds(4), "\(result.elapsed)")
    }

    @Test func aConnectTimeoutBoundsAConnectionThatIsNeverAccepted() throws {
        // 192.0.2.1 (TEST-NET-1) is never routed: the SYN goes unanswered or is refused by the
        // network at once; either way the probe must end by the connect timeout.
        let started = ContinuousClock.now

        let result = HTTPProbe().run(
            ProbeRequest(url: "http://192.0.2.1:81/", timeout: .seconds(10), connectTimeout: .seconds(1)))

        #expect(result.verdict != .passed)
        #expect(started.duration(to: .now) < .seconds(3))
    }

    @Test func routesRunConcurrentlySoThreeHungRoutesCostOneTimeoutNotThree() throws {
        let servers = try (0..<3).map { _ in try LoopbackHTTPServer { _ in .silence } }
        defer { for server in servers { server.stop() } }
        let requests = servers.map {
            ProbeRequest(url: "http://127.0.0.1:\($0.port)/api/info", timeout: .milliseconds(1500))
        }
        let started = ContinuousClock.now

        let results = ProbeSession().run(requests)

        let elapsed = started.duration(to: .now)
        #expect(results.map(\.verdict) == [.timedOut, .timedOut, .timedOut])
        #expect(elapsed < .milliseconds(3500), "one after another would take 4.5 s; took \(elapsed)")
        #expect(servers.allSatisfy { $0.requestedPaths == ["/api/info"] })
    }

    @Test func resultsComeBackInRouteOrderWhateverOrderTheyFinishIn() throws {
        let slow = try LoopbackHTTPServer { _ in .slow(delay: .milliseconds(600), status: 200, body: "slow") }
        let fast = try LoopbackHTTPServer { _ in .respond(status: 404) }
        defer {
            slow.stop()
            fast.stop()
        }

        let results = ProbeSession().run([
            ProbeRequest(url: "http://127.0.0.1:\(slow.port)/slow", timeout: .seconds(3)),
            ProbeRequest(url: "http://127.0.0.1:\(fast.port)/fast", timeout: .seconds(3)),
            ProbeRequest(url: "ftp://127.0.0.1/", timeout: .seconds(3)),
        ])

        #expect(
            results.map(\.url) == [
                "http://127.0.0.1:\(slow.port)/slow", "http://127.0.0.1:\(fast.port)/fast", "ftp://127.0.0.1/",
            ])
        #expect(results.map(\.verdict.name) == ["passed", "unexpected-status", "invalid-request"])
    }
}
