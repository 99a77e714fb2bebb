import Glibc
import Testing

@testable import SitewardenCore

/// Probes against real HTTP servers on 127.0.0.1, one per test.
@Suite struct HTTPProbeTests {
    private let tunelyInfo = #"{"name": "Tunely Server", "version": "0.2.3"}"#

    private func request(
        _ port: UInt16, _ path: String = "/api/info", timeout: Duration = .seconds(5)
    ) -> ProbeRequest {
        ProbeRequest(
            url: "http://127.0.0.1:\(port)\(path)", expectStatus: 200, expectBody: "Tunely Server",
            timeout: timeout)
    }

    @Test func passesWhenStatusAndBodyMatch() throws {
        let body = tunelyInfo
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: body) }
        defer { server.stop() }

        let result = HTTPProbe().run(request(server.port))

        #expect(result.verdict == .passed)
        #expect(result.status == 200)
        #expect(result.summary == "GET http://127.0.0.1:\(server.port)/api/info → 200")
        #expect(server.requestedPaths == ["/api/info"])
    }

    @Test func reportsBodyMismatchWhenExpectedTextIsMissing() throws {
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: "Welcome to nginx!") }
        defer { server.stop() }

        let result = HTTPProbe().run(request(server.port))

        #expect(result.verdict == .bodyMismatch(expected: "Tunely Server"))
        #expect(result.status == 200)
    }

    @Test func reportsUnexpectedStatusWithOneLineSummary() throws {
        let server = try LoopbackHTTPServer { _ in
            .respond(status: 404, body: "Tunely Server: no such route")
        }
        defer { server.stop() }

        let result = HTTPProbe().run(request(server.port))

        #expect(result.verdict == .unexpectedStatus(expected: 200, actual: 404))
        #expect(result.status == 404)
        #expect(result.summary == "GET http://127.0.0.1:\(server.port)/api/info → 404 (expected 200)")
    }

    @Test func doesNotFollowRedirects() throws {
        let body = tunelyInfo
        let server = try LoopbackHTTPServer { path in
            path == "/old"
                ? .respond(status: 302, headers: ["Location: /api/info"])
                : .respond(status: 200, body: body)
        }
        defer { server.stop() }

        let result = HTTPProbe().run(request(server.port, "/old"))

        #expect(result.verdict == .unexpectedStatus(expected: 200, actual: 302))
        #expect(server.requestedPaths == ["/old"])
    }

    @Test func timesOutOnAServerThatNeverAnswers() throws {
        let server = try LoopbackHTTPServer { _ in .silence }
        defer { server.stop() }

        let result = HTTPProbe().run(request(server.port, timeout: .seconds(1)))

        #expect(result.verdict == .timedOut)
        #expect(result.elapsed >= .milliseconds(900))
        #expect(result.elapsed < .seconds(3))
        #expect(result.summary.contains("timed out after"))
    }

    @Test func timeoutBoundsTheWholeExchangeNotEachRead() throws {
        let server = try LoopbackHTTPServer { _ in .drip(interval: .milliseconds(200)) }
        defer { server.stop() }

        let result = HTTPProbe().run(request(server.port, timeout: .seconds(1)))

        #expect(result.verdict == .timedOut)
        #expect(result.elapsed < .seconds(3))
    }

    @Test func reportsConnectionFailureNamingTheAddressWhenNothingListens() throws {
        // A bound socket that never listens keeps the port ours and refuses every connection.
        let socket = try LoopbackSocket.open(listening: false)
        defer { close(socket) }
        let port = try LoopbackSocket.localPort(of: socket)

        let result = HTTPProbe().run(request(port))

        guard case .connectionFailed(let message) = result.verdict else {
            Issue.record("expected connectionFailed, got \(result.verdict)")
            return
        }
        #expect(message.contains("127.0.0.1"))
        #expect(message.contains("\(port)"))
        #expect(result.status == nil)
    }

    @Test func reportsConnectionFailureWhenTheServerHangsUpOrSpeaksGarbage() throws {
        let server = try LoopbackHTTPServer { path in
            path == "/empty" ? .raw("") : .raw("SSH-2.0-OpenSSH_9.2\r\n\r\n")
        }
        defer { server.stop() }

        let empty = HTTPProbe().run(request(server.port, "/empty"))
        let garbage = HTTPProbe().run(request(server.port, "/garbage"))

        #expect(empty.verdict.isConnectionFailure)
        #expect(garbage.verdict.isConnectionFailure)
    }

    @Test func stopsReadingAtTheBodyLimit() throws {
        let server = try LoopbackHTTPServer { _ in .endlessBody(bytes: 64 << 20) }
        defer { server.stop() }
        var probe = request(server.port)
        probe.maxBodyBytes = 256 * 1024

        let result = HTTPProbe().run(probe)

        #expect(result.verdict == .responseTooLarge(limit: 256 * 1024))
        #expect(result.status == 200)
        #expect(result.elapsed < .seconds(3))
    }

    @Test func acceptsABodyExactlyAtTheLimit() throws {
        let body = tunelyInfo
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: body) }
        defer { server.stop() }
        var probe = request(server.port)
        probe.maxBodyBytes = body.utf8.count

        let result = HTTPProbe().run(probe)

        #expect(result.verdict == .passed)
    }

    @Test func reportsWrongStatusRatherThanSizeForAHugeErrorPage() throws {
        let server = try LoopbackHTTPServer { _ in
            .raw(
                "HTTP/1.1 500 Oops\r\nContent-Length: 9999999\r\n\r\n"
                    + String(repeating: "e", count: 300_000))
        }
        defer { server.stop() }
        var probe = request(server.port)
        probe.maxBodyBytes = 1024

        let result = HTTPProbe().run(probe)

        #expect(result.verdict == .unexpectedStatus(expected: 200, actual: 500))
    }

    @Test(arguments: [
        "", "127.0.0.1:8083/api/info", "ftp://127.0.0.1/", "file:///etc/passwd", "http://",
        "http://[::1/",
        "http://127.0.0.1:99999/", "http://exa mple.com/", "http://127.0.0.1/\0/x",
        "http://127.0.0.1/\n\r\u{1b}[31m",
    ])
    func rejectsAnInvalidURLAsAnInvalidRequest(url: String) {
        let probe = ProbeRequest(url: url, expectStatus: 200, timeout: .seconds(2))

        let result = HTTPProbe().run(probe)

        #expect(result.verdict.isInvalidRequest, "\(result.summary)")
        #expect(!result.summary.contains("\n") && !result.summary.contains("\r"))
        #expect(result.elapsed < .seconds(1))
    }

    @Test func rejectsNonPositiveTimeoutsAndNegativeLimits() {
        let url = "http://127.0.0.1:9/"
        var zeroConnect = ProbeRequest(url: url, timeout: .seconds(1))
        zeroConnect.connectTimeout = .zero
        var negativeLimit = ProbeRequest(url: url, timeout: .seconds(1))
        negativeLimit.maxBodyBytes = -1

        for probe in [
            ProbeRequest(url: url, timeout: .zero), ProbeRequest(url: url, timeout: .seconds(-1)),
            zeroConnect, negativeLimit,
        ] {
            #expect(HTTPProbe().run(probe).verdict.isInvalidRequest)
        }
    }

    @Test func roundsTimeoutsUpToWholeMilliseconds() {
        #expect(HTTPProbe.milliseconds(.microseconds(1)) == 1)
        #expect(HTTPProbe.milliseconds(.milliseconds(1500)) == 1500)
        #expect(HTTPProbe.milliseconds(.seconds(Int64.max)) == Int(Int32.max))
    }
}

extension ProbeVerdict {
    fileprivate var isConnectionFailure: Bool {
        if case .connectionFailed = self { return true }
        return false
    }

    fileprivate var isInvalidRequest: Bool {
        if case .invalidRequest = self { return true }
        return false
    }
}
