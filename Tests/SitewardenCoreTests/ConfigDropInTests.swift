import Foundation
import Testing

@testable import SitewardenCore

/// `conf.d/*.toml` beside the main file: merged in name order, targets appended, `[daemon]` keys
/// overridden, every problem naming the file it is in.
@Suite("Configuration drop-ins")
struct ConfigDropInTests {
    let scratch: Scratch
    let main: String

    init() throws {
        scratch = try Scratch()
        main = scratch.path + "/config.toml"
        try FileManager.default.createDirectory(atPath: scratch.path + "/conf.d", withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: scratch.path + "/" + name, atomically: true, encoding: .utf8)
    }

    static func target(_ name: String) -> String {
        """
        [[target]]
        name = "\(name)"
        venv = "/srv/\(name)/venv"
        distribution = "\(name)"
        backup = "/var/lib/sitewarden/backup/\(name)"

        """
    }

    @Test func targetsAreAppendedInNameOrderAndDaemonKeysOverridden() throws {
        try write("config.toml", "[daemon]\ninterval = \"30s\"\nworkers = 3\n\n" + Self.target("tunely"))
        try write("conf.d/20-billing.toml", Self.target("billing"))
        try write("conf.d/10-daemon.toml", "[daemon]\ninterval = \"5s\"\n")
        try write("conf.d/30-search.toml", Self.target("search"))
        // Editors' and package managers' leftovers are not read.
        try write("conf.d/.40-hidden.toml", "not toml = = =")
        try write("conf.d/50-old.toml.dpkg-old", "not toml = = =")

        let config = try ConfigLoader.load(path: main)

        #expect(config.targets.map(\.name) == ["tunely", "billing", "search"])
        #expect(config.daemon.interval == .seconds(5))
        #expect(config.daemon.workers == 3)
        #expect(
            try ConfigLoader.files(path: main) == [
                main, scratch.path + "/conf.d/10-daemon.toml", scratch.path + "/conf.d/20-billing.toml",
                scratch.path + "/conf.d/30-search.toml",
            ])
    }

    @Test func aMainFileWithoutTargetsIsFineWhenADropInHasThem() throws {
        try write("config.toml", "[daemon]\ninterval = \"30s\"\n")
        try write("conf.d/50-tunely.toml", Self.target("tunely"))

        #expect(try ConfigLoader.load(path: main).targets.map(\.name) == ["tunely"])
    }

    @Test func problemsNameTheDropInTheyAreIn() throws {
        try write("config.toml", Self.target("tunely"))
        try write("conf.d/50-fleet.toml", Self.target("tunely") + "unit = \"billing\"\n")
        try write("conf.d/60-broken.toml", "[[target]\n")

        var problems: [String] = []
        do {
            _ = try ConfigLoader.load(path: main)
        } catch {
            problems = error.problems.map(\.description)
        }

        // A file that does not parse stops the merge; the parse error names that file.
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix(scratch.path + "/conf.d/60-broken.toml:1:") == true)

        try write("conf.d/60-broken.toml", "")
        do {
            _ = try ConfigLoader.load(path: main)
            problems = []
        } catch {
            problems = error.problems.map(\.description)
        }

        #expect(
            problems == [
                scratch.path
                    + "/conf.d/50-fleet.toml:2:8: target[1].name: 'tunely' is already the name of target[0] in "
                    + main,
                scratch.path + "/conf.d/50-fleet.toml:6:8: target[1].unit: must name a service unit ending in "
                    + "'.service', found 'billing'",
            ])
    }

    @Test func noDropInDirectoryMeansTheMainFileAlone() throws {
        try FileManager.default.removeItem(atPath: scratch.path + "/conf.d")
        try write("config.toml", Self.target("tunely"))

        #expect(try ConfigLoader.files(path: main) == [main])
        #expect(try ConfigLoader.load(path: main).targets.count == 1)
    }

    @Test func aFileNamedConfDIsNotADropInDirectory() throws {
        try FileManager.default.removeItem(atPath: scratch.path + "/conf.d")
        try write("config.toml", Self.target("tunely"))
        try write("conf.d", "a file, not a directory")

        #expect(try ConfigLoader.files(path: main) == [main])
    }
}

@Suite("Did-you-mean suggestions for unknown keys")
struct KeySuggestionTests {
    @Test(arguments: [
        ("intervall", "interval"), ("intreval", "interval"), ("Interval", "interval"),
        ("state-directory", "state_directory"), ("quiet_periods", "quiet_period"), ("metric_file", "metrics_file"),
    ])
    func typosGetTheKeyTheyWereMeantToBe(typo: String, key: String) {
        let known = ["interval", "state_directory", "quiet_period", "read_timeout", "metrics_file", "workers"]

        #expect(KeySuggestion.closest(to: typo, in: known) == key)
    }

    @Test(arguments: ["colour", "expect_code", "x", "timeout_seconds"])
    func unrelatedKeysGetNoSuggestion(key: String) {
        let known = ["interval", "expect_body", "expect_status", "timeout", "url"]

        #expect(KeySuggestion.closest(to: key, in: known) == nil)
    }
}
