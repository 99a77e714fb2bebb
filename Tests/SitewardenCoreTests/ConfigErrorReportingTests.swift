import Glibc
import Testing

@testable import SitewardenCore

@Test func malformedTOMLIsOneProblemWithTomlPlusPlusLineAndColumn() {
    let text = """
        [daemon]
        interval = "30s"
        state_directory = /var/lib/sitewarden
        """

    let problems = ConfigFixtures.problems(in: text)

    #expect(problems == [ConfigFixtures.problem(3, 19, "Error while parsing value: could not determine value type")])
}

@Test func unterminatedStringIsReportedWhereTheLineEnds() {
    let text = """
        [[target]]
        name = "tunely
        venv = "/srv/venv"
        """

    let problems = ConfigFixtures.problems(in: text)

    #expect(problems.count == 1)
    #expect(problems.first?.line == 2)
    #expect(problems.first?.column == 15)
}

@Test func columnsCountCharactersNotBytes() {
    let problems = ConfigFixtures.problems(in: "x = \"éé\" y = 1\n")

    #expect(problems.map(\.line) == [1])
    #expect(problems.map(\.column) == [10])
}

@Test func unknownDaemonKeyIsNamedWithItsTableAndPosition() {
    let text = """
        [daemon]
          intervall = "30s"

        [[target]]
        name = "tunely"
        venv = "/srv/venv"
        distribution = "tunely"
        backup = "/backup/tunely"
        """

    let problems = ConfigFixtures.problems(in: text)

    #expect(problems == [ConfigFixtures.problem(2, 3, "unknown key 'intervall' in [daemon]; did you mean 'interval'?")])
}

@Test func unknownRouteKeyIsNamedWithItsDottedLocation() {
    let text = """
        [[target]]
        name = "tunely"
        venv = "/srv/venv"
        distribution = "tunely"
        backup = "/backup/tunely"
        [[target.route]]
        url = "http://127.0.0.1:8083/"
        [[target.route]]
        url = "http://127.0.0.1:8083/api/info"
        expect_code = 200
        """

    let problems = ConfigFixtures.problems(in: text)

    #expect(problems == [ConfigFixtures.problem(10, 1, "unknown key 'expect_code' in target[0].route[1]")])
}

@Test func unknownTopLevelAndTargetKeysAreNamed() {
    let text = """
        intervall = 30
        [[target]]
        name = "tunely"
        venv = "/srv/venv"
        distribution = "tunely"
        backup = "/backup/tunely"
        services = ["as-dispatch.service"]
        """

    let problems = ConfigFixtures.problems(in: text)

    #expect(
        problems == [
            ConfigFixtures.problem(1, 1, "unknown key 'intervall' in the top-level table"),
            ConfigFixtures.problem(7, 1, "unknown key 'services' in target[0]"),
        ]
    )
}

@Test func missingFileIsNamedWithTheErrnoText() throws {
    let directory = try ConfigTemporaryDirectory()
    let path = "\(directory.path)/absent.toml"

    #expect(
        throws: ConfigError(problems: [
            ConfigProblem(path: path, message: "cannot read the configuration: open: No such file or directory")
        ])
    ) {
        try ConfigLoader.load(path: path)
    }
}

@Test func symlinkedMainFileAndDropInAreFollowed() throws {
    let directory = try ConfigTemporaryDirectory()
    let store = directory.path + "/store"
    mkdir(store, 0o700)
    mkdir(directory.path + "/etc", 0o700)
    mkdir(directory.path + "/etc/conf.d", 0o700)
    try ConfigDropInTests.target("tunely").write(toFile: store + "/main.toml", atomically: true, encoding: .utf8)
    try ConfigDropInTests.target("billing").write(toFile: store + "/billing.toml", atomically: true, encoding: .utf8)
    #expect(symlink(store + "/main.toml", directory.path + "/etc/link.toml") == 0)
    #expect(symlink("../../store/billing.toml", directory.path + "/etc/conf.d/50-billing.toml") == 0)

    let config = try ConfigLoader.load(path: directory.path + "/etc/link.toml")

    #expect(config.targets.map(\.name) == ["tunely", "billing"])
}

@Test func danglingSymlinkIsNamedWithWhereItLeads() throws {
    let directory = try ConfigTemporaryDirectory()
    let path = directory.path + "/link.toml"
    #expect(symlink(directory.path + "/gone.toml", path) == 0)

    #expect(
        throws: ConfigError(problems: [
            ConfigProblem(
                path: path,
                message: "cannot read the configuration: it is a symlink to '\(directory.path)/gone.toml', "
                    + "which does not exist (open: No such file or directory)")
        ])
    ) {
        try ConfigLoader.load(path: path)
    }
}

@Test func symlinkToSomethingNotARegularFileIsRefused() throws {
    let directory = try ConfigTemporaryDirectory()
    let path = directory.path + "/link.toml"
    #expect(symlink("/dev/zero", path) == 0)

    #expect(
        throws: ConfigError(problems: [
            ConfigProblem(path: path, message: "cannot read the configuration: open: not a regular file")
        ])
    ) {
        try ConfigLoader.load(path: path)
    }
}

@Test func directoryIsReportedAsUnreadable() throws {
    let directory = try ConfigTemporaryDirectory()

    #expect(
        throws: ConfigError(problems: [
            ConfigProblem(
                path: directory.path, message: "cannot read the configuration: open: not a regular file")
        ])
    ) {
        try ConfigLoader.load(path: directory.path)
    }
}

@Test func deviceIsRefusedWithoutReadingIt() {
    #expect(
        throws: ConfigError(problems: [
            ConfigProblem(path: "/dev/zero", message: "cannot read the configuration: open: not a regular file")
        ])
    ) {
        try ConfigLoader.load(path: "/dev/zero")
    }
}

@Test func fifoIsRefusedInsteadOfBlocking() throws {
    let directory = try ConfigTemporaryDirectory()
    let path = directory.path + "/config.toml"
    mkfifo(path, 0o600)

    #expect(
        throws: ConfigError(problems: [
            ConfigProblem(path: path, message: "cannot read the configuration: open: not a regular file")
        ])
    ) {
        try ConfigLoader.load(path: path)
    }
}

@Test func oversizedFileIsRefusedOnceItPassesTheSizeLimit() throws {
    let directory = try ConfigTemporaryDirectory()
    let path = directory.path + "/config.toml"
    let big = String(repeating: "# padding\n", count: 110_000)
    try Array(big.utf8).withUnsafeBytes { bytes in
        let fd = open(path, O_WRONLY | O_CREAT, 0o600)
        defer { close(fd) }
        #expect(write(fd, bytes.baseAddress, bytes.count) == bytes.count)
    }

    #expect(
        throws: ConfigError(problems: [
            ConfigProblem(path: path, message: "cannot read the configuration: read: larger than 1048576 bytes")
        ])
    ) {
        try ConfigLoader.load(path: path)
    }
}

/// The bytes reach toml++ unchanged (no U+FFFD repair), and toml++ points at the last good character.
@Test func invalidUTF8InAFileIsReportedWithItsPosition() throws {
    let directory = try ConfigTemporaryDirectory()
    let path = try directory.write("bad.toml", bytes: Array("[daemon]\nstate_directory = \"/var/".utf8) + [0xFF, 0x22])

    let error = #expect(throws: ConfigError.self) {
        try ConfigLoader.load(path: path)
    }

    #expect(
        error?.problems == [
            ConfigProblem(path: path, line: 2, column: 24, message: "Encountered invalid utf-8 sequence")
        ]
    )
}

@Test func problemDescriptionIsPathLineColumnMessage() {
    let placed = ConfigProblem(path: "/etc/sitewarden.toml", line: 3, column: 7, message: "bad")
    let unplaced = ConfigProblem(path: "/etc/sitewarden.toml", message: "no targets")

    #expect(placed.description == "/etc/sitewarden.toml:3:7: bad")
    #expect(unplaced.description == "/etc/sitewarden.toml: no targets")
    #expect(ConfigError(problems: [placed, unplaced]).description == "\(placed)\n\(unplaced)")
}
