import Testing

@testable import SitewardenCore

/// A valid target table taking lines 1–5; tests append lines from 6 on.
private let validTarget = """
    [[target]]
    name = "tunely"
    venv = "/srv/venv"
    distribution = "tunely"
    backup = "/backup/tunely"

    """

private let p = ConfigFixtures.problem

@Test func missingRequiredKeysAreEachNamedAtTheirTable() {
    let text = """
        [[target]]
        unit = "as-dispatch.service"
        [[target.route]]
        expect_status = 200
        """

    let problems = ConfigFixtures.problems(in: text)

    #expect(
        problems == [
            p(1, 1, "missing required key 'name' in target[0]"),
            p(1, 1, "missing required key 'venv' in target[0]"),
            p(1, 1, "missing required key 'distribution' in target[0]"),
            p(1, 1, "missing required key 'backup' in target[0]"),
            p(3, 1, "missing required key 'url' in target[0].route[0]"),
        ]
    )
}

@Test func wrongTypesNameTheExpectedAndTheFoundKind() {
    let text = """
        [daemon]
        interval = 1.5
        state_directory = true
        [[target]]
        name = "tunely"
        venv = 5
        distribution = ["tunely"]
        backup = "/backup/tunely"
        version = 1979-05-27
        [[target.route]]
        url = "http://127.0.0.1/"
        expect_status = true
        """

    let problems = ConfigFixtures.problems(in: text)

    #expect(
        problems == [
            p(2, 12, "daemon.interval: expected a duration like \"30s\" or an integer number of seconds, found float"),
            p(3, 19, "daemon.state_directory: expected a string, found boolean"),
            p(6, 8, "target[0].venv: expected a string, found integer"),
            p(7, 16, "target[0].distribution: expected a string, found array"),
            p(9, 11, "target[0].version: expected a string, found date"),
            p(
                12, 17,
                "target[0].route[0].expect_status: expected a status (200), a range (\"2xx\", \"200-299\") "
                    + "or an array of them, found boolean"),
        ]
    )
}

@Test func malformedDurationsAreRefused() {
    let text = """
        [daemon]
        interval = "30x"
        \(validTarget)
        [[target.route]]
        url = "http://127.0.0.1/"
        timeout = "1.5s"
        """

    let problems = ConfigFixtures.problems(in: text)

    let hint = "write a whole number and a unit (ms, s, m or h), like \"30s\""
    #expect(
        problems == [
            p(2, 12, "daemon.interval: invalid duration '30x': \(hint)"),
            p(11, 11, "target[0].route[0].timeout: invalid duration '1.5s': \(hint)"),
        ]
    )
}

@Test func zeroAndNegativeDurationsAreRefused() {
    let text = """
        \(validTarget)
        [[target.route]]
        url = "http://127.0.0.1/"
        timeout = "-5s"
        [[target.route]]
        url = "http://127.0.0.1/"
        timeout = "0ms"
        [daemon]
        interval = 0
        """

    let problems = ConfigFixtures.problems(in: text)

    #expect(
        problems == [
            p(9, 11, "target[0].route[0].timeout: duration must be positive, found '-5s'"),
            p(12, 11, "target[0].route[1].timeout: duration must be positive, found '0ms'"),
            p(14, 12, "daemon.interval: duration must be positive, found 0"),
        ]
    )
}

@Test func intervalHasAFloorOfTenMillisecondsAndOtherDurationsDoNot() throws {
    let atTheFloor = try ConfigLoader.parse(
        text: validTarget + "[daemon]\ninterval = \"10ms\"\nquiet_period = \"1ms\"\n", path: "test.toml")
    let belowIt = ConfigFixtures.problems(in: validTarget + "[daemon]\ninterval = \"9ms\"\n")

    #expect(atTheFloor.daemon.interval == .milliseconds(10))
    #expect(atTheFloor.daemon.quietPeriod == .milliseconds(1))
    #expect(
        belowIt.map(\.message) == [
            "daemon.interval: must be at least 10ms (a shorter interval only keeps the daemon busy), found '9ms'"
        ])
}

@Test func workersAndRehashPeriodOutOfRangeAreRefused() {
    let text = """
        \(validTarget)
        [daemon]
        workers = 0
        full_rehash_every = 0
        """
    let tooMany = validTarget + "[daemon]\nworkers = 65\nfull_rehash_every = \"10\"\n"

    let problems = ConfigFixtures.problems(in: text) + ConfigFixtures.problems(in: tooMany)

    #expect(
        problems == [
            p(8, 11, "daemon.workers: must be between 1 and 64, found 0"),
            p(9, 21, "daemon.full_rehash_every: must be between 1 and 1000000, found 0"),
            p(7, 11, "daemon.workers: must be between 1 and 64, found 65"),
            p(8, 21, "daemon.full_rehash_every: expected an integer, found string"),
        ]
    )
}

@Test func duplicateTargetNameIsReportedAtItsSecondUse() {
    let text = """
        \(validTarget)
        [[target]]
        name = "tunely"
        venv = "/srv/venv2"
        distribution = "tunely"
        backup = "/backup/tunely2"
        """

    let problems = ConfigFixtures.problems(in: text)

    #expect(problems == [p(8, 8, "target[1].name: 'tunely' is already the name of target[0]")])
}

@Test(arguments: ["as-dispatch", "as-dispatch.socket", ".service", "as-dispatch.service "])
func unitThatIsNotAServiceIsRefused(unit: String) {
    let problems = ConfigFixtures.problems(in: validTarget + "unit = \"\(unit)\"\n")

    #expect(problems == [p(6, 8, "target[0].unit: must name a service unit ending in '.service', found '\(unit)'")])
}

@Test func fileWithoutTargetsIsRefused() {
    let problems = ConfigFixtures.problems(in: "[daemon]\ninterval = \"30s\"\n")

    #expect(problems == [p(nil, nil, "no targets: add at least one [[target]] table")])
}

@Test func emptyTargetArrayIsRefusedAtItsPosition() {
    let problems = ConfigFixtures.problems(in: "target = []\n")

    #expect(problems == [p(1, 10, "no targets: add at least one [[target]] table")])
}

@Test func relativePathsAreRefused() {
    let text = """
        [daemon]
        state_directory = "var/lib/sitewarden"
        [[target]]
        name = "tunely"
        venv = "srv/venv"
        distribution = "tunely"
        backup = ""
        """

    let problems = ConfigFixtures.problems(in: text)

    #expect(
        problems == [
            p(2, 19, "daemon.state_directory: must be an absolute path, found 'var/lib/sitewarden'"),
            p(5, 8, "target[0].venv: must be an absolute path, found 'srv/venv'"),
            p(7, 10, "target[0].backup: must be an absolute path, found ''"),
        ]
    )
}

@Test(arguments: ["ftp://127.0.0.1/", "127.0.0.1:8083/api/info", "http://", "", " http://127.0.0.1/"])
func urlThatIsNotHTTPIsRefused(url: String) {
    let problems = ConfigFixtures.problems(in: validTarget + "[[target.route]]\nurl = \"\(url)\"\n")

    #expect(problems == [p(7, 7, "target[0].route[0].url: must be an http:// or https:// URL, found '\(url)'")])
}

@Test(arguments: ["http://127.0.0.1:8083/api/info", "https://example.test", "HTTPS://EXAMPLE.TEST/"])
func httpAndHttpsURLsAreAccepted(url: String) {
    let problems = ConfigFixtures.problems(in: validTarget + "[[target.route]]\nurl = \"\(url)\"\n")

    #expect(problems.isEmpty)
}

@Test(arguments: [99, 600, 0, -200, 9_223_372_036_854_775_807])
func expectStatusOutside100To599IsRefused(status: Int) {
    let text = validTarget + "[[target.route]]\nurl = \"http://127.0.0.1/\"\nexpect_status = \(status)\n"

    let problems = ConfigFixtures.problems(in: text)

    let message = "target[0].route[0].expect_status: must be an HTTP status between 100 and 599, found \(status)"
    #expect(problems == [p(8, 17, message)])
}

@Test(arguments: [100, 599])
func expectStatusBoundsAreAccepted(status: Int) throws {
    let text = validTarget + "[[target.route]]\nurl = \"http://127.0.0.1/\"\nexpect_status = \(status)\n"

    let config = try ConfigLoader.parse(text: text, path: ConfigFixtures.path)

    #expect(config.targets[0].routes[0].expectStatus == StatusExpectation(integerLiteral: status))
}

@Test func emptyNamesAndTextsAreRefused() {
    let text = """
        [[target]]
        name = ""
        venv = "/srv/venv"
        distribution = "tunely"
        backup = "/backup/tunely"
        version = ""
        [[target.route]]
        url = "http://127.0.0.1/"
        expect_body = ""
        """

    let problems = ConfigFixtures.problems(in: text)

    #expect(
        problems == [
            p(2, 8, "target[0].name: must not be empty"),
            p(6, 11, "target[0].version: must not be empty"),
            p(9, 15, "target[0].route[0].expect_body: must not be empty"),
        ]
    )
}

@Test func tablesOfTheWrongShapeAreRefused() {
    let text = """
        daemon = 5
        target = [1, { name = "tunely", venv = "/v", distribution = "tunely", backup = "/b", route = "x" }]
        """

    let problems = ConfigFixtures.problems(in: text)

    #expect(
        problems == [
            p(1, 10, "daemon: expected a table, found integer"),
            p(2, 11, "target[0]: expected a table, found integer"),
            p(2, 94, "target[1].route: expected an array of tables, found string"),
        ]
    )
}

@Test func everyProblemIsReportedTogetherInFileOrder() {
    let text = """
        [daemon]
        interval = "soon"
        colour = "blue"

        [[target]]
        name = "tunely"
        venv = "venv"
        distribution = "tunely"
        unit = "as-dispatch"

        [[target.route]]
        url = "localhost:8083"
        expect_status = 700

        [[target]]
        name = "tunely"
        venv = "/srv/venv"
        distribution = "tunely"
        backup = "/backup/tunely"
        """

    let problems = ConfigFixtures.problems(in: text)

    #expect(
        problems.map(\.description) == [
            "test.toml:2:12: daemon.interval: invalid duration 'soon': write a whole number and a unit (ms, s, m or h), "
                + "like \"30s\"",
            "test.toml:3:1: unknown key 'colour' in [daemon]",
            "test.toml:5:1: missing required key 'backup' in target[0]",
            "test.toml:7:8: target[0].venv: must be an absolute path, found 'venv'",
            "test.toml:9:8: target[0].unit: must name a service unit ending in '.service', found 'as-dispatch'",
            "test.toml:12:7: target[0].route[0].url: must be an http:// or https:// URL, found 'localhost:8083'",
            "test.toml:13:17: target[0].route[0].expect_status: must be an HTTP status between 100 and 599, found 700",
            "test.toml:16:8: target[1].name: 'tunely' is already the name of target[0]",
        ]
    )
}

@Suite("Values that would let one setting damage another")
struct ConfigSafetyTests {
    private func problems(_ target: String) -> [String] {
        let text = """
            [[target]]
            name = "tunely"
            distribution = "tunely"
            \(target)
            """
        do {
            _ = try ConfigLoader.parse(text: text, path: "c.toml")
            return []
        } catch {
            return error.problems.map(\.message)
        }
    }

    @Test(arguments: [
        ("/srv/app", "/srv/app"), ("/srv/app", "/srv/app/venv"), ("/srv/app/venv/backup", "/srv/app/venv"),
        ("/srv/app/", "/srv/app/venv"),
    ])
    func backupOverlappingTheVenvIsRefused(backup: String, venv: String) {
        let found = problems("venv = \"\(venv)\"\nbackup = \"\(backup)\"")

        #expect(found.count == 1)
        #expect(found.first?.contains("target[0].backup: backup") == true)
        #expect(found.first?.contains("overlaps venv") == true)
    }

    @Test func backupBesideTheVenvIsFine() {
        #expect(problems("venv = \"/srv/app/venv\"\nbackup = \"/srv/app/venv-backup\"").isEmpty)
    }

    @Test func controlCharactersInANameAreRefused() {
        let found = problems("venv = \"/v\"\nbackup = \"/b\"\nversion = \"0.2.3\\nWATCHDOG=trigger\"")

        #expect(found == ["target[0].version: must not contain control characters (newlines, tabs, escapes)"])
    }
}

extension ConfigSafetyTests {
    @Test func urlWithControlCharactersOrSpacesIsRefused() {
        let found = problems(
            "venv = \"/v\"\nbackup = \"/b\"\n[[target.route]]\nurl = \"http://127.0.0.1/a\\r\\nHost: evil\"")

        #expect(found.count == 1)
        #expect(found.first?.contains("must be an http:// or https:// URL") == true)
    }
}

@Test func verificationPolicyKeysAreTypeCheckedAndModeMaskIsBounded() {
    let text =
        validTarget + """
            pin_version = "yes"
            mode_mask = 0o17777
            ignore = ["*.log", 3, ""]
            """

    let problems = ConfigFixtures.problems(in: text)

    #expect(
        problems == [
            p(6, 15, "target[0].pin_version: expected true or false, found string"),
            p(
                7, 13,
                "target[0].mode_mask: must be permission bits between 0o0 and 0o7777 (write it as 0o7133), found 8191"),
            p(8, 20, "target[0].ignore[1]: expected a string, found integer"),
            p(8, 23, "target[0].ignore[2]: must not be empty"),
        ]
    )
}
