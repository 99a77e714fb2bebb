import Testing

@testable import SitewardenCore

@Suite("Command-line parsing")
struct ArgumentsTests {
    @Test func commandWithConfigAndTargetsInAnyOrder() {
        let parsed = Arguments.parse(["restore", "--dry-run", "tunely", "-c", "/etc/x.toml"])

        #expect(
            parsed
                == .command(Arguments(command: .restore, configPath: "/etc/x.toml", targets: ["tunely"], dryRun: true)))
    }

    @Test func defaultsToTheSystemConfig() {
        #expect(
            Arguments.parse(["check"])
                == .command(
                    Arguments(command: .check, configPath: "/etc/sitewarden/config.toml", targets: [], dryRun: false)))
        #expect(
            Arguments.parse(["--config=/tmp/c.toml", "status"])
                == .command(Arguments(command: .status, configPath: "/tmp/c.toml", targets: [], dryRun: false)))
    }

    @Test(arguments: [
        (["frobnicate"], "unknown command frobnicate"),
        ([], "no command given"),
        (["check", "--json-ish"], "unknown option --json-ish"),
        (["check", "--config"], "--config needs a path"),
        (["check", "--dry-run"], "--dry-run applies to restore only"),
        (["restore", "--full"], "--full applies to check only"),
        (["restore", "--adopt"], "--adopt applies to baseline only"),
    ])
    func mistakesAreNamed(words: [String], message: String) {
        #expect(Arguments.parse(words) == .usageError(message))
    }

    @Test func checkFullTrustsNoCachedDigest() {
        #expect(
            Arguments.parse(["check", "--full", "tunely"])
                == .command(
                    Arguments(
                        command: .check, configPath: "/etc/sitewarden/config.toml", targets: ["tunely"],
                        dryRun: false, full: true)))
    }

    @Test func helpAndVersionWinOverEverythingElse() {
        #expect(Arguments.parse(["check", "--help"]) == .help)
        #expect(Arguments.parse(["-V"]) == .version)
    }
}

extension ArgumentsTests {
    @Test func emptyConfigPathIsAUsageError() {
        #expect(Arguments.parse(["--config=", "check"]) == .usageError("--config needs a path"))
    }
}

extension ArgumentsTests {
    @Test func baselineMayAdoptTheInstalledVersion() {
        #expect(
            Arguments.parse(["baseline", "--adopt", "tunely"])
                == .command(
                    Arguments(
                        command: .baseline, configPath: "/etc/sitewarden/config.toml", targets: ["tunely"],
                        dryRun: false, adopt: true)))
    }
}
