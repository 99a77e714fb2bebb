/// The parsed command line: `sitewarden [--config PATH] COMMAND [OPTIONS] [TARGET…]`.
public struct Arguments: Sendable, Equatable {
    public enum Command: String, Sendable, CaseIterable {
        case run, check, baseline, restore, status
        case checkConfig = "check-config"
        case help
    }

    public var command: Command
    public var configPath: String
    public var targets: [String]
    public var dryRun: Bool
    /// With check: hash every file, trusting no cached digest.
    public var full: Bool = false
    /// `baseline --adopt`: record whichever version is installed as the known-good one.
    public var adopt: Bool = false
    /// With check and status: print the documented JSON document instead of text.
    public var json: Bool = false

    public static let defaultConfigPath = "/etc/sitewarden/config.toml"

    /// The overview `sitewarden --help` prints; each command's own help is in `CommandHelp`.
    public static var usage: String { CommandHelp.overview }

    /// What the command line asked for: a command to run, or something to print and exit with.
    public enum Parsed: Sendable, Equatable {
        case command(Arguments)
        /// Help: the overview (nil), or one command's.
        case help(Command?)
        case version
        case usageError(String)
    }

    public static func parse(_ words: [String]) -> Parsed {
        var configPath = defaultConfigPath
        var command: Command?
        var targets = [String]()
        var flags = Set<String>()
        var wantsHelp = false
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            switch word {
            case "-h", "--help": wantsHelp = true
            case "-V", "--version": return .version
            case "-n", "--dry-run": flags.insert("--dry-run")
            case "--full", "--adopt", "--json": flags.insert(word)
            case "-c", "--config":
                guard index < words.count else { return .usageError("\(word) needs a path") }
                configPath = words[index]
                index += 1
            case _ where word.hasPrefix("--config="):
                configPath = String(word.dropFirst("--config=".count))
                guard !configPath.isEmpty else { return .usageError("--config needs a path") }
            case "--":
                targets += words[index...]
                index = words.count
            case _ where word.hasPrefix("-"):
                return .usageError("unknown option \(word)" + suggestion(forOption: word))
            default:
                if command == nil {
                    guard let parsed = Command(rawValue: word) else {
                        return .usageError("unknown command \(word)" + suggestion(forCommand: word))
                    }
                    command = parsed
                } else {
                    targets.append(word)
                }
            }
        }
        if command == .help {
            guard let topic = targets.first else { return .help(nil) }
            guard targets.count == 1, let named = Command(rawValue: topic) else {
                return .usageError("help takes one command name, found \(targets.joined(separator: " "))")
            }
            return .help(named)
        }
        if wantsHelp { return .help(command) }
        guard let command else { return .usageError("no command given") }
        if let problem = misplaced(flags, for: command) { return .usageError(problem) }
        var arguments = Arguments(command: command, configPath: configPath, targets: targets, dryRun: false)
        arguments.dryRun = flags.contains("--dry-run")
        arguments.full = flags.contains("--full")
        arguments.adopt = flags.contains("--adopt")
        arguments.json = flags.contains("--json")
        if command == .checkConfig || command == .run, !targets.isEmpty {
            return .usageError("\(command.rawValue) takes no target names, found \(targets.joined(separator: " "))")
        }
        return .command(arguments)
    }

    /// The options each command accepts, beyond `--config` and `--help`.
    static let optionsByCommand: [Command: Set<String>] = [
        .check: ["--full", "--json"], .baseline: ["--adopt"], .restore: ["--dry-run"], .status: ["--json"],
    ]

    private static func misplaced(_ flags: Set<String>, for command: Command) -> String? {
        let allowed = optionsByCommand[command] ?? []
        for flag in flags.sorted() where !allowed.contains(flag) {
            let owners = optionsByCommand.filter { $0.value.contains(flag) }.map(\.key.rawValue).sorted()
            return "\(flag) applies to \(owners.joined(separator: " and ")) only"
        }
        return nil
    }

    private static func suggestion(forCommand word: String) -> String {
        KeySuggestion.closest(to: word, in: Command.allCases.map(\.rawValue)).map { "; did you mean \($0)?" } ?? ""
    }

    private static func suggestion(forOption word: String) -> String {
        let known = ["--config", "--help", "--version", "--dry-run", "--full", "--adopt", "--json"]
        let name = word.split(separator: "=").first.map(String.init) ?? word
        return KeySuggestion.closest(to: name, in: known).map { "; did you mean \($0)?" } ?? ""
    }
}
