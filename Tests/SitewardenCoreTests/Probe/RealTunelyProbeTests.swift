import Foundation
import Testing

@testable import SitewardenCore

/// Probes of the real tunely 0.2.3 server, healthy and then serving the truncated server.py of
/// the incident.
@Suite("Probes of the real tunely server", .serialized)
struct RealTunelyProbeTests {
    @Test func theHealthyServersInfoRoutePassesAJSONFieldCheckByAddressAndByLocalhost() throws {
        let server = try TunelyServer()
        defer { server.stop() }
        let checks: [BodyCheck] = [
            .jsonField(try JSONFieldCheck.parse(#"name == "Tunely Server""#)),
            .matches(regex: #""protocols":\s*\["#),
        ]

        let results = ProbeSession().run([
            ProbeRequest(url: server.url + "/api/info", bodyChecks: checks, timeout: .seconds(5)),
            ProbeRequest(url: "http://localhost:\(server.port)/api/info", bodyChecks: checks, timeout: .seconds(5)),
            ProbeRequest(url: server.url + "/api/no-such-route", expectStatus: 404, timeout: .seconds(5)),
        ])

        #expect(results.map(\.verdict) == [.passed, .passed, .passed], "\(results.map(\.summary))")
        #expect(results[1].address == "127.0.0.1:\(server.port)")
    }

    @Test func theTruncatedServerFileExplainsTheRealServers404AndTheRestoredServerAnswersAgain() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let server = try TunelyServer(sitePackages: scratch.sitePackages)
        defer { server.stop() }
        let route = RouteConfig(
            url: server.url + "/api/info",
            bodyChecks: [.jsonField(try JSONFieldCheck.parse(#"name == "Tunely Server""#))],
            timeout: .seconds(5))
        try #require(HTTPProbe().run(route.probeRequest).verdict == .passed)
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        try server.restart()
        try #require(HTTPProbe().run(route.probeRequest).status == 404, "the damaged server loses /api/info")
        let events = RecordingSink()
        let services = ScriptedServiceManager(onRestart: { try? server.restart() })
        let monitor = TargetMonitor(
            target: TargetConfig(
                name: "tunely", venv: scratch.venv, distribution: "tunely", version: "0.2.3", backup: scratch.backup,
                unit: "as-dispatch.service", routes: [route]),
            events: events)

        let health = monitor.runCycle(repair: true, services: services)

        let failed = try #require(events.first(.probeFailed))
        #expect(
            failed.message
                == "tunely: GET \(server.url)/api/info → 404 (expected 200); tunely/server.py truncated (562 of 1361 lines)"
        )
        #expect(failed.field("CAUSE") == "drift" && failed.field("HTTP_STATUS") == "404")
        #expect(health == .healthy)
        #expect(services.restarted == ["as-dispatch.service"])
        #expect(events.kinds.suffix(2) == [.probeRecovered, .targetRecovered])
        #expect(HTTPProbe().run(route.probeRequest).verdict == .passed)
    }
}
