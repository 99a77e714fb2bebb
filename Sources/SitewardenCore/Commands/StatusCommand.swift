import Glibc

/// `sitewarden status`: what the running daemon last saw, read from its status file.
public struct StatusCommand {
    public var stateDirectory: String

    public init(stateDirectory: String) {
        self.stateDirectory = stateDirectory
    }

    public func run() -> ExitCode {
        let status: DaemonStatus?
        do {
            status = try StatusFile(directory: stateDirectory).read()
        } catch {
            StandardStreams.writeError("no status from a running daemon: \(error)\n")
            return .cannotVerify
        }
        guard let status else {
            StandardStreams.writeError("status file in \(stateDirectory) is not readable JSON\n")
            return .cannotVerify
        }
        let age = Int(time(nil)) - status.writtenAt
        var lines = ["daemon pid \(status.pid), last cycle \(age)s ago"]
        var worst = ExitCode.healthy
        for target in status.targets {
            lines.append("\(target.name): \(target.health.rawValue), \(target.filesChecked) files checked")
            for drift in target.drifts { lines.append("  drift: \(drift)") }
            target.problem.map { lines.append("  problem: \($0)") }
            for probe in target.probes { lines.append("  route: \(probe)") }
            switch target.health {
            case .healthy: break
            case .drifted: worst = CheckCommand.worse(worst, .drift)
            case .probeFailing: worst = CheckCommand.worse(worst, .probeFailure)
            case .degraded, .unknown: worst = CheckCommand.worse(worst, .cannotVerify)
            }
        }
        StandardStreams.write(lines.joined(separator: "\n") + "\n")
        return worst
    }
}
