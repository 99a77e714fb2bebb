import Testing

@testable import SitewardenCore

/// The start-up warning when libcurl could not bound DNS lookups by the probe timeouts.
@Suite struct ResolverCheckTests {
    private func target(_ urls: [String], socket: String? = nil) -> TargetConfig {
        TargetConfig(
            name: "tunely", venv: "/srv/venv", distribution: "tunely", backup: "/backup/tunely",
            routes: urls.map { RouteConfig(url: $0, unixSocket: socket) })
    }

    @Test func thisMachinesLibcurlResolvesOnAThreadSoNoWarningIsDue() {
        #expect(CurlCapabilities.asynchronousDNS == true, "Debian's libcurl4 is built with the threaded resolver")
        #expect(!CurlCapabilities.version.isEmpty)
        #expect(
            ResolverCheck.warning(
                asynchronousDNS: CurlCapabilities.asynchronousDNS, curlVersion: CurlCapabilities.version,
                targets: [target(["http://tunely.internal/api/info"])]) == nil)
    }

    @Test func aSynchronousResolverIsAWarningNamingTheRoutesWhoseHostsNeedDNS() throws {
        let targets = [
            target(["http://tunely.internal:8083/api/info", "http://127.0.0.1:8083/", "http://localhost:8083/"]),
            target(["http://[::1]:8083/"]),
        ]

        let warning = try #require(
            ResolverCheck.warning(asynchronousDNS: false, curlVersion: "7.88.1", targets: targets))

        #expect(warning.kind == .probeDNSUnbounded && warning.kind.priority == .warning)
        #expect(warning.field("ROUTES") == "tunely: http://tunely.internal:8083/api/info")
        #expect(warning.message.hasPrefix("libcurl 7.88.1 resolves names synchronously"))
    }

    @Test func libcurlIsAskedOnlyWhenARouteNeedsDNSSinceAskingLoadsIt() {
        nonisolated(unsafe) var asked = 0
        func askLibcurl() -> Bool? {
            asked += 1
            return false
        }

        let withoutNames = ResolverCheck.warning(
            asynchronousDNS: askLibcurl(), curlVersion: "7.88.1", targets: [target(["http://127.0.0.1:8083/"])])
        let askedWithoutNames = asked
        let withoutRoutes = ResolverCheck.warning(
            asynchronousDNS: askLibcurl(), curlVersion: "7.88.1", targets: [target([])])
        let askedWithoutRoutes = asked
        let withAName = ResolverCheck.warning(
            asynchronousDNS: askLibcurl(), curlVersion: "7.88.1", targets: [target(["http://tunely.internal/"])])

        #expect(withoutNames == nil && withoutRoutes == nil && askedWithoutNames == 0 && askedWithoutRoutes == 0)
        #expect(withAName != nil && asked == 1)
    }

    @Test func noLibcurlAtAllIsNoResolverWarning() {
        #expect(
            ResolverCheck.warning(
                asynchronousDNS: nil, curlVersion: "unavailable", targets: [target(["http://tunely.internal/"])])
                == nil)
    }

    @Test func addressesLocalhostAndUnixSocketsNeedNoResolver() {
        let targets = [
            target(["http://127.0.0.1:8083/", "https://localhost/", "http://[::1]:80/"]),
            target(["http://localhost/api/info"], socket: "/run/app.sock"),
        ]

        #expect(ResolverCheck.warning(asynchronousDNS: false, curlVersion: "7.88.1", targets: targets) == nil)
    }
}
