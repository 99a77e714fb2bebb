import Foundation
import Testing

@testable import SitewardenCore

/// What a probe sends and what it counts as success, against real servers on loopback.
@Suite struct ProbeSemanticsTests {
    private let info =
        #"{"name":"Tunely Server","version":"0.2.0","protocols":["https","http"],"limits":{"tunnels":5}}"#

    @Test func postsTheConfiguredBodyAndHeadersAndNeverPutsHeaderValuesInTheResult() throws {
        let scratch = try Scratch()
        let keyFile = scratch.path + "/api-key"
        try "s3cr3t-key-from-file\n".write(toFile: keyFile, atomically: true, encoding: .utf8)
        let server = try LoopbackHTTPServer { _ in .respond(status: 401, body: #"{"detail":"bad key"}"#) }
        defer { server.stop() }
        let path = try #require(ProcessInfo.processInfo.environment["PATH"])
        let request = ProbeRequest(
            url: "http://127.0.0.1:\(server.port)/api/tunnels", method: .post, body: #"{"domain":"a"}"#,
            headers: [
                ProbeHeader(name: "X-Api-Key", source: .file(keyFile)),
                ProbeHeader(name: "X-From-Env", source: .environment("PATH")),
                ProbeHeader(name: "Content-Type", source: .literal("application/json")),
            ],
            expectStatus: 201, timeout: .seconds(5))

        let result = HTTPProbe().run(request)

        let received = try #require(server.requests.first)
        #expect(received.hasPrefix("POST /api/tunnels HTTP/1.1\r\n"))
        #expect(received.contains("\r\nX-Api-Key: s3cr3t-key-from-file\r\n"))
        #expect(received.contains("\r\nX-From-Env: \(path)\r\n"))
        #expect(received.contains("\r\nContent-Type: application/json\r\n"))
        #expect(received.hasSuffix("\r\n\r\n{\"domain\":\"a\"}"))
        #expect(result.verdict == .unexpectedStatus(expected: 201, actual: 401))
        #expect(result.summary == "POST http://127.0.0.1:\(server.port)/api/tunnels → 401 (expected 201)")
        #expect(!"\(result)".contains("s3cr3t"))
    }

    @Test func aHeaderWhoseSourceIsMissingIsAnInvalidRequestNamingItButNoValue() throws {
        let server = try LoopbackHTTPServer { _ in .respond(status: 200) }
        defer { server.stop() }
        let request = ProbeRequest(
            url: "http://127.0.0.1:\(server.port)/",
            headers: [ProbeHeader(name: "Authorization", source: .file("/nonexistent/sitewarden-token"))],
            timeout: .seconds(2))

        let result = HTTPProbe().run(request)

        guard case .invalidRequest(let message) = result.verdict else {
            Issue.record("expected invalidRequest, got \(result.verdict)")
            return
        }
        #expect(message.contains("header Authorization (from /nonexistent/sitewarden-token)"))
        #expect(message.contains("No such file"))
        #expect(server.requests.isEmpty)
    }

    @Test func headSendsNoBodyRequestAndJudgesTheStatusAlone() throws {
        let server = try LoopbackHTTPServer { _ in .respond(status: 200) }
        defer { server.stop() }

        let result = HTTPProbe().run(
            ProbeRequest(url: "http://127.0.0.1:\(server.port)/healthz", method: .head, timeout: .seconds(5)))

        #expect(result.verdict == .passed)
        #expect(server.requests.first?.hasPrefix("HEAD /healthz HTTP/1.1\r\n") == true)
    }

    @Test func acceptsAnyStatusOfAListOrARangeAndNamesTheRangeWhenOutside() throws {
        let server = try LoopbackHTTPServer { path in .respond(status: path == "/created" ? 204 : 503) }
        defer { server.stop() }
        let listed = ProbeRequest(
            url: "http://127.0.0.1:\(server.port)/created", expectStatus: StatusExpectation([200...200, 204...204]),
            timeout: .seconds(5))
        let ranged = ProbeRequest(
            url: "http://127.0.0.1:\(server.port)/down", expectStatus: StatusExpectation([200...299]),
            timeout: .seconds(5))

        let created = HTTPProbe().run(listed)
        let down = HTTPProbe().run(ranged)

        #expect(created.verdict == .passed)
        #expect(down.verdict == .unexpectedStatus(expected: StatusExpectation([200...299]), actual: 503))
        #expect(down.summary.hasSuffix("→ 503 (expected 200-299)"))
    }

    @Test func regularExpressionAndJSONFieldChecksPassOnTheRightBody() throws {
        let body = info
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: body) }
        defer { server.stop() }
        let request = ProbeRequest(
            url: "http://127.0.0.1:\(server.port)/api/info",
            bodyChecks: [
                .matches(regex: #""version":"0\.2\.\d+""#),
                .jsonField(try JSONFieldCheck.parse(#"name == "Tunely Server""#)),
                .jsonField(try JSONFieldCheck.parse(#"protocols[0] == "https""#)),
                .jsonField(try JSONFieldCheck.parse("limits.tunnels == 5")),
            ],
            timeout: .seconds(5))

        #expect(HTTPProbe().run(request).verdict == .passed)
    }

    @Test(arguments: [
        (#"name == "Other Server""#, #"name is "Tunely Server", expected "Other Server""#),
        ("limits.tunnels == 6", "limits.tunnels is 5, expected 6"),
        (#"missing.key == 1"#, "the JSON body has no missing.key (wanted missing.key == 1)"),
        (#"protocols[5] == "ftp""#, #"the JSON body has no protocols[5] (wanted protocols[5] == "ftp")"#),
    ])
    func aJSONFieldThatDiffersOrIsAbsentFailsTheBodyCheckSayingWhat(expression: String, failure: String) throws {
        let body = info
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: body) }
        defer { server.stop() }
        let request = ProbeRequest(
            url: "http://127.0.0.1:\(server.port)/api/info",
            bodyChecks: [.jsonField(try JSONFieldCheck.parse(expression))],
            timeout: .seconds(5))

        let result = HTTPProbe().run(request)

        #expect(result.verdict == .bodyCheckFailed(failure))
        #expect(result.verdict.name == "body-mismatch")
        #expect(result.summary.hasSuffix("→ 200 but \(failure)"))
    }

    @Test func aTwoHundredWithTheWrongBodyFailsEveryKindOfBodyCheck() throws {
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: "<html>Welcome to nginx!</html>") }
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/api/info"

        let substring = HTTPProbe().run(ProbeRequest(url: url, expectBody: "Tunely Server", timeout: .seconds(5)))
        let regex = HTTPProbe().run(
            ProbeRequest(url: url, bodyChecks: [.matches(regex: "Tunely\\s+Server")], timeout: .seconds(5)))
        let json = HTTPProbe().run(
            ProbeRequest(
                url: url, bodyChecks: [.jsonField(try JSONFieldCheck.parse(#"name == "Tunely Server""#))],
                timeout: .seconds(5)))

        #expect(substring.verdict == .bodyMismatch(expected: "Tunely Server"))
        #expect(regex.verdict == .bodyCheckFailed("the body has no match for /Tunely\\s+Server/"))
        #expect(json.verdict == .bodyCheckFailed(#"the body is not JSON (wanted name == "Tunely Server")"#))
    }

    @Test func aRedirectToALoginPageIsNotFollowedUnlessTheRouteSaysSoAndThenTheLoginPageIsJudged() throws {
        let body = info
        let server = try LoopbackHTTPServer { path in
            switch path {
            case "/api/info": .respond(status: 302, headers: ["Location: /login?next=/api/info"])
            case "/login?next=/api/info": .respond(status: 200, body: "<form>Please sign in</form>")
            default: .respond(status: 200, body: body)
            }
        }
        defer { server.stop() }
        var request = ProbeRequest(
            url: "http://127.0.0.1:\(server.port)/api/info", expectBody: "Tunely Server", timeout: .seconds(5))

        let unfollowed = HTTPProbe().run(request)
        request.followRedirects = true
        let followed = HTTPProbe().run(request)

        #expect(unfollowed.verdict == .unexpectedStatus(expected: 200, actual: 302))
        #expect(followed.verdict == .bodyMismatch(expected: "Tunely Server"))
        #expect(server.requestedPaths == ["/api/info", "/api/info", "/login?next=/api/info"])
    }

    @Test func localhostReachesAServiceListeningOnlyOnIPv6Loopback() throws {
        let body = info
        let server = try LoopbackHTTPServer(on: .ipv6LoopbackOnly) { _ in .respond(status: 200, body: body) }
        defer { server.stop() }

        let byName = HTTPProbe().run(
            ProbeRequest(
                url: "http://localhost:\(server.port)/api/info", expectBody: "Tunely Server", timeout: .seconds(5)))
        let byIPv4 = HTTPProbe().run(
            ProbeRequest(url: "http://127.0.0.1:\(server.port)/api/info", timeout: .seconds(2)))

        #expect(byName.verdict == .passed)
        #expect(byName.address == "[::1]:\(server.port)")
        #expect(byIPv4.verdict.name == "connection-failed", "nothing listens on 127.0.0.1:\(server.port)")
    }

    @Test func localhostReachesAServiceListeningOnlyOnIPv4Loopback() throws {
        let body = info
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: body) }
        defer { server.stop() }

        let result = HTTPProbe().run(
            ProbeRequest(
                url: "http://localhost:\(server.port)/api/info", expectBody: "Tunely Server", timeout: .seconds(5)))

        #expect(result.verdict == .passed)
        #expect(result.address == "127.0.0.1:\(server.port)")
    }

    @Test func aUnixSocketRouteTalksToTheSocketAndNamesItInMessages() throws {
        let scratch = try Scratch()
        let socket = scratch.path + "/app.sock"
        let body = info
        let server = try LoopbackHTTPServer(on: .unixSocket(socket)) { path in
            path == "/api/info" ? .respond(status: 200, body: body) : .respond(status: 404)
        }
        defer { server.stop() }
        let route = ProbeRequest(
            url: "http://localhost/api/info", expectBody: "Tunely Server", timeout: .seconds(5), unixSocket: socket)
        var gone = route
        gone.unixSocket = scratch.path + "/absent.sock"

        let served = HTTPProbe().run(route)
        let refused = HTTPProbe().run(gone)

        #expect(served.verdict == .passed)
        #expect(served.summary == "GET unix:\(socket) /api/info → 200")
        #expect(server.requests.first?.contains("\r\nHost: localhost\r\n") == true)
        #expect(refused.verdict.name == "connection-failed")
        #expect(refused.summary.contains("tried \(scratch.path)/absent.sock"))
    }

    @Test func routesOfATargetShareTheirConnectionsFromOneRoundToTheNext() throws {
        let server = try LoopbackHTTPServer { _ in .keepAlive(status: 200, body: "Tunely Server") }
        defer { server.stop() }
        let session = ProbeSession()
        let request = ProbeRequest(url: "http://127.0.0.1:\(server.port)/api/info", timeout: .seconds(3))

        let first = session.run([request])
        let second = session.run([request])

        #expect(first.map(\.verdict) == [.passed] && second.map(\.verdict) == [.passed])
        #expect(server.requestedPaths.count == 2)
        #expect(server.connections == 1)
    }
}
