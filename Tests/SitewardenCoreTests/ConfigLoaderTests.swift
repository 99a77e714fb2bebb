import Testing

@testable import SitewardenCore

@Test func decodesEveryKeyOfAFullConfig() throws {
    let config = try ConfigLoader.parse(text: ConfigFixtures.full, path: ConfigFixtures.path)

    #expect(config == ConfigFixtures.fullDecoded)
}

@Test func appliesDefaultsToLeftOutKeys() throws {
    let text = """
        [[target]]
        name = "tunely"
        venv = "/srv/venv"
        distribution = "tunely"
        backup = "/backup/tunely"

        [[target.route]]
        url = "http://127.0.0.1:8083/"
        """

    let config = try ConfigLoader.parse(text: text, path: "minimal.toml")

    #expect(config.daemon.interval == .seconds(30))
    #expect(config.daemon.stateDirectory == "/var/lib/sitewarden")
    #expect(config.daemon.quietPeriod == .seconds(2))
    #expect(config.daemon.readTimeout == .seconds(30))
    #expect(config.daemon.workers == 2)
    #expect(config.daemon.fullRehashEvery == 10)
    #expect(config.targets[0].version == nil)
    #expect(config.targets[0].unit == nil)
    #expect(config.targets[0].routes == [RouteConfig(url: "http://127.0.0.1:8083/")])
    #expect(config.targets[0].routes[0].expectStatus == 200)
    #expect(config.targets[0].routes[0].expectBody == nil)
    #expect(config.targets[0].routes[0].timeout == .seconds(5))
    #expect(config.sourcePath == "minimal.toml")
}

@Test func decodesTheQuietPeriodAndTheReadTimeout() throws {
    let text = """
        [daemon]
        quiet_period = "750ms"
        read_timeout = 5

        [[target]]
        name = "tunely"
        venv = "/srv/venv"
        distribution = "tunely"
        backup = "/backup/tunely"
        """

    let config = try ConfigLoader.parse(text: text, path: "watch.toml")

    #expect(config.daemon.quietPeriod == .milliseconds(750))
    #expect(config.daemon.readTimeout == .seconds(5))
}

@Test func refusesAQuietPeriodOrReadTimeoutThatIsNotADuration() throws {
    let text = """
        [daemon]
        quiet_period = "0s"
        read_timeout = "soon"

        [[target]]
        name = "tunely"
        venv = "/srv/venv"
        distribution = "tunely"
        backup = "/backup/tunely"
        """

    let problems = ConfigFixtures.problems(in: text)

    #expect(
        problems.map(\.message) == [
            "daemon.quiet_period: duration must be positive, found '0s'",
            "daemon.read_timeout: invalid duration 'soon': write a whole number and a unit (ms, s, m or h), like \"30s\"",
        ])
}

@Test func acceptsATargetWithoutRoutes() throws {
    let text = """
        [[target]]
        name = "tunely"
        venv = "/srv/venv"
        distribution = "tunely"
        backup = "/backup/tunely"
        """

    let config = try ConfigLoader.parse(text: text, path: ConfigFixtures.path)

    #expect(config.targets.map(\.name) == ["tunely"])
    #expect(config.targets[0].routes.isEmpty)
}

@Test func acceptsInlineTablesForTargetsAndRoutes() throws {
    let text = """
        target = [
          { name = "t", venv = "/v", distribution = "t", backup = "/b", route = [{ url = "https://x.test/" }] },
        ]
        """

    let config = try ConfigLoader.parse(text: text, path: ConfigFixtures.path)

    #expect(config.targets[0].routes == [RouteConfig(url: "https://x.test/")])
}

@Test func loadsAConfigFileFromDisk() throws {
    let directory = try ConfigTemporaryDirectory()
    let path = try directory.write("sitewarden.toml", ConfigFixtures.full)

    let config = try ConfigLoader.load(path: path)

    #expect(config.targets == ConfigFixtures.fullDecoded.targets)
    #expect(config.daemon == ConfigFixtures.fullDecoded.daemon)
    #expect(config.sourcePath == path)
}

@Test func exampleConfigDescribesTheTunelyIncident() throws {
    let repository = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
    let path = "/\(repository)/config.example.toml"

    let config = try ConfigLoader.load(path: path)

    #expect(
        config.daemon
            == DaemonConfig(
                interval: .seconds(30), stateDirectory: "/var/lib/sitewarden", quietPeriod: .seconds(2),
                readTimeout: .seconds(30)))
    #expect(
        config.targets == [
            TargetConfig(
                name: "tunely",
                venv: "/opt/as-dispatch/venv",
                distribution: "tunely",
                version: "0.2.3",
                backup: "/var/lib/sitewarden/backup/tunely",
                unit: "as-dispatch.service",
                routes: [
                    RouteConfig(
                        url: "http://127.0.0.1:8083/api/info",
                        expectStatus: 200,
                        expectBody: "Tunely Server",
                        timeout: .seconds(5)
                    )
                ]
            )
        ]
    )
}

@Test func decodesTheScanningEngineKeys() throws {
    let text = """
        [daemon]
        workers = 64
        full_rehash_every = 1
        [[target]]
        name = "tunely"
        venv = "/srv/venv"
        distribution = "tunely"
        backup = "/backup/tunely"
        """

    let config = try ConfigLoader.parse(text: text, path: ConfigFixtures.path)

    #expect(config.daemon.workers == 64)
    #expect(config.daemon.fullRehashEvery == 1)
}
