import Dispatch
import Glibc
import SitewardenCore

// The executable only parses the command line and hands over to the library.

ResolverEnvironment.clear()

let arguments: Arguments
switch Arguments.parse(Array(CommandLine.arguments.dropFirst())) {
case .command(let parsed):
    arguments = parsed
case .help(let command):
    StandardStreams.write((command.map(CommandHelp.text(for:)) ?? CommandHelp.overview) + "\n")
    exit(0)
case .version:
    StandardStreams.write("sitewarden \(sitewardenVersion)\n")
    exit(0)
case .usageError(let message):
    StandardStreams.writeError("sitewarden: \(message)\nTry 'sitewarden --help' or 'sitewarden help COMMAND'.\n")
    exit(ExitCode.usage.rawValue)
}

if arguments.command == .checkConfig {
    exit(CheckConfigCommand(path: arguments.configPath).run().rawValue)
}

let config: SitewardenConfig
do {
    config = try ConfigLoader.load(path: arguments.configPath)
} catch {
    StandardStreams.writeError("sitewarden: configuration not usable:\n\(error)\n")
    exit(ExitCode.config.rawValue)
}

let unknown = arguments.targets.filter { name in !config.targets.contains { $0.name == name } }
guard unknown.isEmpty else {
    StandardStreams.writeError(
        "sitewarden: no target named \(unknown.joined(separator: ", ")) in \(arguments.configPath) "
            + "(targets: \(config.targets.map(\.name).joined(separator: ", ")))\n")
    exit(ExitCode.usage.rawValue)
}

switch arguments.command {
case .run:
    let daemon = Daemon(config: config, configPath: arguments.configPath)
    daemon.start()
    dispatchMain()
case .check:
    exit(
        CheckCommand(config: config, targetNames: arguments.targets, full: arguments.full, json: arguments.json).run()
            .rawValue)
case .baseline:
    exit(BaselineCommand(config: config, targetNames: arguments.targets, adopt: arguments.adopt).run().rawValue)
case .restore:
    exit(RestoreCommand(config: config, targetNames: arguments.targets, dryRun: arguments.dryRun).run().rawValue)
case .status:
    exit(StatusCommand(config: config, targetNames: arguments.targets, json: arguments.json).run().rawValue)
case .checkConfig, .help:
    preconditionFailure("handled before the configuration is loaded")
}
