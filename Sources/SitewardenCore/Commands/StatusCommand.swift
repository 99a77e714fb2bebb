import Glibc

/// `sitewarden status`: what the running daemon last saw, read from its status file.
///
/// A status file outlives its daemon, so the command checks that the daemon is alive and wrote
/// recently before trusting what the file says.
public struct StatusCommand {
    public var config: SitewardenConfig
    public var targetNames: [String]

    public init(config: SitewardenConfig, targetNames: [String]) {
        self.config = config
        self.targetNames = targetNames
    }

    public func run(now: Int = Int(time(nil))) -> ExitCode {
        let directory = config.daemon.stateDirectory
        let status: DaemonStatus?
        do {
            status = try StatusFile(directory: directory).read()
        } catch {
            StandardStreams.writeError("no status from a running daemon: \(error)\n")
            return .cannotVerify
        }
        guard let status else {
            StandardStreams.writeError("status file in \(directory) is not readable JSON\n")
            return .cannotVerify
        }

        let age = now - status.writtenAt
        var lines = ["daemon pid \(status.pid), last cycle \(age)s ago"]
        var worst = ExitCode.healthy
        if let stale = staleness(status, age: age) {
            lines.append("STALE: \(stale); what follows may no longer be true")
            worst = .cannotVerify
        }
        for target in config.targets(named: targetNames) {
            guard let seen = status.targets.first(where: { $0.name == target.name }) else {
                lines.append("\(target.name): not reported by the daemon (added since it started?)")
                worst = CheckCommand.worse(worst, .cannotVerify)
                continue
            }
            lines += describe(seen)
            worst = CheckCommand.worse(worst, exitCode(for: seen.health))
        }
        StandardStreams.write(lines.joined(separator: "\n") + "\n")
        return worst
    }

    /// Why the file cannot be trusted: its daemon is gone, or it has not written for several cycles.
    private func staleness(_ status: DaemonStatus, age: Int) -> String? {
        if kill(status.pid, 0) != 0 && errno == ESRCH { return "the daemon (pid \(status.pid)) is not running" }
        let limit = 3 * Int(config.daemon.interval.components.seconds) + 60
        if age > limit { return "no cycle for \(age)s (interval \(config.daemon.interval.secondsText))" }
        if age < -60 { return "written \(-age)s in the future (clock change?)" }
        return nil
    }

    private func describe(_ target: TargetStatus) -> [String] {
        let mode = target.mode == RepairMode.observe.rawValue ? " (observe only: nothing is restored)" : ""
        var lines = ["\(target.name): \(target.health.rawValue)\(mode), \(target.filesChecked) files checked"]
        if let note = target.note, target.mode != RepairMode.observe.rawValue { lines.append("  repair: \(note)") }
        for drift in target.drifts { lines.append("  drift: \(drift)") }
        if let problem = target.problem { lines.append("  problem: \(problem)") }
        if let routes = target.routes {
            for route in routes { lines.append("  route: \(route.line)") }
        } else {
            for probe in target.probes { lines.append("  route: \(probe)") }
        }
        return lines
    }

    private func exitCode(for health: TargetHealth) -> ExitCode {
        switch health {
        case .healthy: .healthy
        case .drifted, .flapping: .drift
        case .probeFailing: .probeFailure
        case .degraded, .unknown, .notCovered: .cannotVerify
        case .versionChanged: .versionChanged
        }
    }
}
