/// The parsed command line: `sitewarden [--config PATH] COMMAND [--dry-run] [TARGET…]`.
public struct Arguments: Sendable, Equatable {
    public enum Command: String, Sendable, CaseIterable {
        case run, check, baseline, restore, status
    }

    public var command: Command
    public var configPath: String
    public var targets: [String]
    public var dryRun: Bool
    /// With check: hash every file, trusting no cached digest.
    public var full: Bool = false
    /// `baseline --adopt`: record whichever version is installed as the known-good one.
    public var adopt: Bool = false

    public static let defaultConfigPath = "/etc/sitewarden/config.toml"

    public static let usage = """
        usage: sitewarden [--config PATH] COMMAND [OPTIONS] [TARGET...]

        commands:
          run                  run as a daemon (under systemd: Type=notify)
          check [--full]       verify files and probe routes once; print a report
          baseline [--adopt]   record the installed files as the known-good backup
          restore [--dry-run]  restore drifted files from the backup, restart the unit
          status               show what the running daemon last saw

        options:
          -c, --config PATH    configuration file (default /etc/sitewarden/config.toml)
          -n, --dry-run        with restore: list what would be restored, change nothing
          --full               with check: hash every file, trusting no cached digest
              --adopt          with baseline: record the installed version even if another is configured
          -h, --help           show this help
          -V, --version        show the version

        exit codes: 0 healthy, 1 drift, 2 probe failure, 3 cannot verify, 4 version changed, 64 usage,
        78 configuration
        """

    /// What the command line asked for: a command to run, or something to print and exit with.
    public enum Parsed: Sendable, Equatable {
        case command(Arguments)
        case help
        case version
        case usageError(String)
    }

    public static func parse(_ words: [String]) -> Parsed {
        var configPath = defaultConfigPath
        var command: Command?
        var targets = [String]()
        var dryRun = false
        var full = false
        var adopt = false
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            switch word {
            case "-h", "--help": return .help
            case "-V", "--version": return .version
            case "-n", "--dry-run": dryRun = true
            case "--full": full = true
            case "--adopt": adopt = true
            case "-c", "--config":
                guard index < words.count else { return .usageError("\(word) needs a path") }
                configPath = words[index]
                index += 1
            case _ where word.hasPrefix("--config="):
                configPath = String(word.dropFirst("--config=".count))
                guard !configPath.isEmpty else { return .usageError("--config needs a path") }
            case _ where word.hasPrefix("-"):
                return .usageError("unknown option \(word)")
            default:
                if command == nil {
                    guard let parsed = Command(rawValue: word) else { return .usageError("unknown command \(word)") }
                    command = parsed
                } else {
                    targets.append(word)
                }
            }
        }
        guard let command else { return .usageError("no command given") }
        if dryRun && command != .restore { return .usageError("--dry-run applies to restore only") }
        if full && command != .check { return .usageError("--full applies to check only") }
        if adopt && command != .baseline { return .usageError("--adopt applies to baseline only") }
        return .command(
            Arguments(
                command: command, configPath: configPath, targets: targets, dryRun: dryRun, full: full, adopt: adopt))
    }
}
