import Testing

@testable import SitewardenCore

/// The route keys of issue #5: each decodes to what the probe sends, and each mistake is reported
/// with its line and column.
@Suite struct ConfigRouteKeysTests {
    /// A valid target taking lines 1–5 and a route header on line 6; tests append from line 7.
    private let prefix = """
        [[target]]
        name = "tunely"
        venv = "/srv/venv"
        distribution = "tunely"
        backup = "/backup/tunely"
        [[target.route]]

        """

    private func route(_ lines: String) throws -> RouteConfig {
        try #require(try ConfigLoader.parse(text: prefix + lines, path: ConfigFixtures.path).targets[0].routes.first)
    }

    private func problems(_ lines: String) -> [ConfigProblem] {
        ConfigFixtures.problems(in: prefix + lines)
    }

    @Test func decodesEveryRouteKeyIntoTheRequestAProbeSends() throws {
        let route = try route(
            """
            url = "https://tunely.internal:8443/api/tunnels"
            method = "POST"
            body = '{"domain": "probe"}'
            headers = { Content-Type = "application/json", X-Api-Key = { file = "/etc/sitewarden/tunely.key" }, Authorization = { env = "TUNELY_TOKEN" } }
            expect_status = [200, "201-204"]
            expect_body = "probe"
            expect_body_regex = '"id":\\s*\\d+'
            expect_json = ['name == "Tunely Server"', "limits.tunnels == 5"]
            timeout = "3s"
            connect_timeout = "500ms"
            max_response_size = "64KiB"
            follow_redirects = true
            ca_file = "/etc/sitewarden/internal-ca.pem"
            failure_threshold = 3
            success_threshold = 2
            """)

        let request = route.probeRequest
        #expect(request.url == "https://tunely.internal:8443/api/tunnels")
        #expect(request.method == .post && request.body == #"{"domain": "probe"}"#)
        #expect(
            request.headers == [
                ProbeHeader(name: "Content-Type", source: .literal("application/json")),
                ProbeHeader(name: "X-Api-Key", source: .file("/etc/sitewarden/tunely.key")),
                ProbeHeader(name: "Authorization", source: .environment("TUNELY_TOKEN")),
            ])
        #expect(request.expectStatus == StatusExpectation([200...200, 201...204]))
        #expect(request.expectBody == "probe")
        #expect(
            request.bodyChecks == [
                .matches(regex: #""id":\s*\d+"#),
                .jsonField(try JSONFieldCheck.parse(#"name == "Tunely Server""#)),
                .jsonField(try JSONFieldCheck.parse("limits.tunnels == 5")),
            ])
        #expect(request.timeout == .seconds(3) && request.connectTimeout == .milliseconds(500))
        #expect(request.maxBodyBytes == 64 * 1024)
        #expect(request.followRedirects && request.caFile == "/etc/sitewarden/internal-ca.pem")
        #expect(route.failureThreshold == 3 && route.successThreshold == 2)
    }

    @Test func defaultsAreAGetThatFollowsNothingAndFailsOnTheFirstMiss() throws {
        let route = try route(#"url = "http://127.0.0.1:8083/api/info""#)

        #expect(route.method == .get && route.body == nil && route.headers.isEmpty)
        #expect(route.expectStatus == 200 && route.bodyChecks.isEmpty)
        #expect(!route.followRedirects && route.caFile == nil && route.unixSocket == nil)
        #expect(route.maxBodyBytes == ProbeRequest.defaultMaxBodyBytes && route.connectTimeout == nil)
        #expect(route.failureThreshold == 1 && route.successThreshold == 1)
    }

    @Test func aUnixURLWithAPathTalksToTheSocket() throws {
        let route = try route(
            """
            url = "unix:/run/as-dispatch/app.sock"
            path = "/api/info"
            """)

        #expect(route.unixSocket == "/run/as-dispatch/app.sock")
        #expect(route.probeRequest.displayTarget == "unix:/run/as-dispatch/app.sock /api/info")
        #expect(route.url == "http://localhost/api/info")
    }

    @Test func statusRangesAreWrittenAsClassesOrSpans() throws {
        #expect(
            try route("url = \"http://x.test/\"\nexpect_status = \"2xx\"").expectStatus
                == StatusExpectation([200...299]))
        #expect(
            try route("url = \"http://x.test/\"\nexpect_status = [\"3xx\", 200]").expectStatus
                == StatusExpectation([300...399, 200...200]))
    }

    @Test func startupGraceIsATargetKey() throws {
        let text = prefix.replacingOccurrences(of: "[[target.route]]\n", with: "startup_grace = \"20s\"\n")

        let config = try ConfigLoader.parse(text: text, path: ConfigFixtures.path)

        #expect(config.targets[0].startupGrace == .seconds(20))
    }

    @Test func everyRouteMistakeIsReportedWithItsLineAndColumn() {
        let found = problems(
            """
            url = "unix:run/app.sock"
            method = "PUT"
            body = "x"
            headers = { "Bad Header" = "x", X-Key = { file = "relative" }, X-Env = { env = "1BAD" }, X-N = 5 }
            expect_status = ["2xx", "700", "abc", 99]
            expect_body_regex = "(unclosed"
            expect_json = "name = 'x'"
            failure_threshold = 0
            success_threshold = 101
            max_response_size = "lots"
            """)

        let p = ConfigFixtures.problem
        #expect(
            found == [
                p(7, 7, "target[0].route[0].url: the socket path must be an absolute path, found 'run/app.sock'"),
                p(7, 7, "target[0].route[0]: a unix: url needs a 'path' (e.g. path = \"/api/info\")"),
                p(8, 10, "target[0].route[0].method: must be \"GET\", \"HEAD\" or \"POST\", found 'PUT'"),
                p(9, 8, "target[0].route[0].body: only a POST sends a body"),
                p(10, 13, "target[0].route[0].headers.Bad Header: 'Bad Header' is not a valid header name"),
                p(10, 50, "target[0].route[0].headers.X-Key.file: must be an absolute path, found 'relative'"),
                p(10, 80, "target[0].route[0].headers.X-Env.env: '1BAD' is not an environment variable name"),
                p(
                    10, 96,
                    "target[0].route[0].headers.X-N: expected a string, { file = \"/path\" } or { env = \"VARIABLE\" }, found integer"
                ),
                p(
                    11, 25,
                    "target[0].route[0].expect_status[1]: expected a status like 200, \"2xx\" or \"200-299\" within 100-599, found '700'"
                ),
                p(
                    11, 32,
                    "target[0].route[0].expect_status[2]: expected a status like 200, \"2xx\" or \"200-299\" within 100-599, found 'abc'"
                ),
                p(11, 39, "target[0].route[0].expect_status[3]: must be an HTTP status between 100 and 599, found 99"),
            ] + found.dropFirst(11))
        let rest = found.dropFirst(11).map(\.description)
        #expect(rest.count == 5, "\(rest)")
        #expect(
            rest.contains {
                $0.hasPrefix("test.toml:12:21: target[0].route[0].expect_body_regex: not a regular expression")
            })
        #expect(
            rest.contains { $0.hasPrefix("test.toml:13:15: target[0].route[0].expect_json: expected 'path == value'") })
        #expect(
            rest.contains {
                $0 == "test.toml:14:21: target[0].route[0].failure_threshold: must be between 1 and 100, found 0"
            })
        #expect(
            rest.contains {
                $0 == "test.toml:15:21: target[0].route[0].success_threshold: must be between 1 and 100, found 101"
            })
        #expect(
            rest.contains { $0.hasPrefix("test.toml:16:21: target[0].route[0].max_response_size: invalid size 'lots'") }
        )
    }

    @Test func aHeadRouteCannotCheckABodyAndAPathNeedsAUnixURL() {
        let found = problems(
            """
            url = "http://127.0.0.1/"
            path = "/x"
            method = "HEAD"
            expect_body = "x"
            """)

        #expect(
            found.map(\.description) == [
                "test.toml:8:8: target[0].route[0].path: only for unix: urls; put the path in the url",
                "test.toml:9:10: target[0].route[0].method: a HEAD response has no body to check",
            ])
    }

    @Test func aJSONExpectationsValueMustBeAJSONLiteral() {
        let found = problems("url = \"http://127.0.0.1/\"\nexpect_json = 'name == Tunely'")

        #expect(
            found.map(\.description) == [
                "test.toml:8:15: target[0].route[0].expect_json: the value 'Tunely' is not a JSON literal (strings need double quotes)"
            ])
    }

    @Test func theExampleConfigurationDocumentsEveryRouteKeyAndStillLoads() throws {
        let text = try String(contentsOfFile: RealTunely.repositoryRoot + "/config.example.toml", encoding: .utf8)
        let keys = [
            "url", "path", "method", "body", "headers", "expect_status", "expect_body", "expect_body_regex",
            "expect_json", "timeout", "connect_timeout", "max_response_size", "follow_redirects", "ca_file",
            "failure_threshold", "success_threshold", "startup_grace",
        ]

        for key in keys {
            #expect(text.contains("\n\(key) = ") || text.contains("\n# \(key) = "), "config.example.toml shows \(key)")
        }
        let route = try #require(
            try ConfigLoader.parse(text: text, path: "config.example.toml").targets[0].routes.first)
        #expect(route.method == .get && route.expectBody == "Tunely Server" && route.failureThreshold == 1)
        // The route table's examples: what follows its header (the [daemon] and target keys above it
        // have commented examples of their own).
        let routeTable = try #require(text.range(of: "\n[[target.route]]\n")).upperBound
        let commentedOut = text[routeTable...].split(separator: "\n").filter { line in
            // Only commented-out settings ("# key = value"), not prose that happens to hold " = ".
            line.hasPrefix("# ") && line.dropFirst(2).prefix { $0 != " " }.allSatisfy { $0.isLetter || $0 == "_" }
                && line.dropFirst(2).drop { $0 != " " }.hasPrefix(" = ")
        }
        .map { String($0.dropFirst(2)) }.joined(separator: "\n")
        let shown = try ConfigLoader.parse(
            text: "[[target]]\nname = \"t\"\nvenv = \"/v\"\ndistribution = \"d\"\nbackup = \"/b\"\n"
                + "[[target.route]]\nurl = \"http://127.0.0.1/\"\nmethod = \"POST\"\n"
                + commentedOut.split(separator: "\n").filter {
                    !$0.hasPrefix("path = ") && !$0.hasPrefix("startup_grace")
                }
                .joined(separator: "\n"),
            path: "commented keys of config.example.toml")
        #expect(shown.targets[0].routes[0].bodyChecks.count == 2, "the commented regex and JSON examples load")
    }
}
