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
        #expect(Arguments.parse(["check", "--help"]) == .help(.check))
        #expect(Arguments.parse(["--help"]) == .help(nil))
        #expect(Arguments.parse(["-V"]) == .version)
    }

    @Test func helpNamesACommandEitherWay() {
        #expect(Arguments.parse(["help", "restore"]) == .help(.restore))
        #expect(Arguments.parse(["help"]) == .help(nil))
        #expect(Arguments.parse(["check-config", "-h"]) == .help(.checkConfig))
        #expect(
            Arguments.parse(["help", "frobnicate"]) == .usageError("help takes one command name, found frobnicate"))
    }

    @Test func jsonIsForCheckAndStatusOnly() {
        var expected = Arguments(command: .status, configPath: Arguments.defaultConfigPath, targets: [], dryRun: false)
        expected.json = true

        #expect(Arguments.parse(["status", "--json"]) == .command(expected))
        #expect(Arguments.parse(["restore", "--json"]) == .usageError("--json applies to check and status only"))
    }

    @Test func checkConfigTakesNoTargets() {
        #expect(
            Arguments.parse(["check-config", "tunely"])
                == .usageError("check-config takes no target names, found tunely"))
    }

    @Test func misspelledCommandsAndOptionsGetASuggestion() {
        #expect(Arguments.parse(["chek"]) == .usageError("unknown command chek; did you mean check?"))
        #expect(Arguments.parse(["check", "--jsn"]) == .usageError("unknown option --jsn; did you mean --json?"))
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
