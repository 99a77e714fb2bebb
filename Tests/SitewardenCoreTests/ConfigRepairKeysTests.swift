import Foundation
import Testing

@testable import SitewardenCore

@Suite("Repair keys: mode, flapping limits, quarantine")
struct ConfigRepairKeysTests {
    private let target = """
        [[target]]
        name = "tunely"
        venv = "/srv/venv"
        distribution = "tunely"
        backup = "/backup/tunely"
        """

    @Test func repairKeysDefaultToRepairingWithThreeRestoresInTenMinutes() throws {
        let config = try ConfigLoader.parse(text: target, path: "minimal.toml")

        #expect(config.targets[0].mode == .repair)
        #expect(config.targets[0].maxRestores == 3)
        #expect(config.targets[0].restoreWindow == .seconds(600))
        #expect(config.targets[0].quarantineExtras == false)
        #expect(config.daemon.quarantineLimit == 100_000_000)
    }

    @Test func decodesObserveModeLimitsAndQuarantineSettings() throws {
        let text = """
            [daemon]
            quarantine_limit = "5MiB"

            \(target)
            mode = "observe"
            max_restores = 5
            restore_window = "30m"
            quarantine_extras = true
            """

        let config = try ConfigLoader.parse(text: text, path: "repair.toml")

        #expect(config.targets[0].mode == .observe)
        #expect(config.targets[0].maxRestores == 5)
        #expect(config.targets[0].restoreWindow == .seconds(1800))
        #expect(config.targets[0].quarantineExtras)
        #expect(config.daemon.quarantineLimit == 5 << 20)
    }

    @Test func quarantineLimitTakesUnitsOrBytes() throws {
        #expect(try ConfigSize.parse("100MB") == 100_000_000)
        #expect(try ConfigSize.parse("1GiB") == 1 << 30)
        #expect(try ConfigSize.parse("512KB") == 512_000)
        #expect(try ConfigSize.parse("4096B") == 4096)
        #expect(try ConfigSize.bytes(4096) == 4096)
        #expect(throws: ConfigSize.Failure.malformed("lots")) { try ConfigSize.parse("lots") }
        #expect(throws: ConfigSize.Failure.notPositive("'0MB'")) { try ConfigSize.parse("0MB") }
    }

    @Test func badRepairValuesAreEachNamedWithTheirLine() {
        let text = """
            [daemon]
            quarantine_limit = "big"

            \(target)
            mode = "fix"
            max_restores = 0
            restore_window = "soon"
            quarantine_extras = "yes"
            """

        let problems = ConfigFixtures.problems(in: text)

        #expect(
            problems.map(\.message) == [
                "daemon.quarantine_limit: invalid size 'big': write a whole number and a unit (B, KB, MB, GB, KiB, MiB or GiB), like \"100MB\"",
                "target[0].mode: must be \"repair\" or \"observe\", found 'fix'",
                "target[0].max_restores: must be between 1 and 1000, found 0",
                "target[0].restore_window: invalid duration 'soon': write a whole number and a unit (ms, s, m or h), like \"30s\"",
                "target[0].quarantine_extras: expected true or false, found string",
            ])
        #expect(problems.map(\.line) == [2, 9, 10, 11, 12])
    }

    @Test func exampleConfigurationDocumentsEveryRepairKey() throws {
        let text = try String(contentsOfFile: RealTunely.repositoryRoot + "/config.example.toml", encoding: .utf8)

        for key in ["mode = ", "max_restores = ", "restore_window = ", "quarantine_extras = ", "quarantine_limit = "] {
            #expect(text.contains("\n" + key), "config.example.toml sets \(key)")
        }
        _ = try ConfigLoader.parse(text: text, path: "config.example.toml")
    }
}
