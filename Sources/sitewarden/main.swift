import Dispatch
import Glibc
import SitewardenCore

// The executable only parses the command line and hands over to the library.

let arguments: Arguments
switch Arguments.parse(Array(CommandLine.arguments.dropFirst())) {
case .command(let parsed):
    arguments = parsed
case .help:
    StandardStreams.write(Arguments.usage + "\n")
    exit(0)
case .version:
    StandardStreams.write("sitewarden \(sitewardenVersion)\n")
    exit(0)
case .usageError(let message):
    StandardStreams.writeError("sitewarden: \(message)\n\n\(Arguments.usage)\n")
    exit(ExitCode.usage.rawValue)
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
        "sitewarden: no target named \(unknown.joined(separator: ", ")) in \(arguments.configPath)\n")
    exit(ExitCode.usage.rawValue)
}

switch arguments.command {
case .run:
    let daemon = Daemon(config: config, configPath: arguments.configPath)
    daemon.start()
    dispatchMain()
case .check:
    exit(CheckCommand(config: config, targetNames: arguments.targets, full: arguments.full).run().rawValue)
case .baseline:
    exit(BaselineCommand(config: config, targetNames: arguments.targets, adopt: arguments.adopt).run().rawValue)
case .restore:
    exit(RestoreCommand(config: config, targetNames: arguments.targets, dryRun: arguments.dryRun).run().rawValue)
case .status:
    exit(StatusCommand(config: config, targetNames: arguments.targets).run().rawValue)
}
