import Glibc

/// `sitewarden status`: what the running daemon last saw, read from its status file.
///
/// A status file outlives its daemon, so the command checks that the daemon is alive and wrote
/// recently before trusting what the file says. It only reads the state directory, so it works
/// as any user the directory lets in.
public struct StatusCommand {
    public var config: SitewardenConfig
    public var targetNames: [String]
    /// Print `StatusDocument` as JSON instead of text.
    public var json: Bool

    public init(config: SitewardenConfig, targetNames: [String], json: Bool = false) {
        self.config = config
        self.targetNames = targetNames
        self.json = json
    }

    public func run(now: Int = Int(time(nil))) -> ExitCode {
        let directory = config.daemon.stateDirectory
        let status: DaemonStatus?
        do {
            status = try StatusFile(directory: directory).read()
        } catch {
            return nothingToShow("no status from a running daemon: \(error)", now: now)
        }
        guard let status else {
            return nothingToShow("status file in \(directory) is not readable JSON", now: now)
        }

        let age = now - status.writtenAt
        let stale = staleness(status, age: age)
        var worst = stale == nil ? ExitCode.healthy : .cannotVerify
        var shown: [TargetStatus] = []
        var unreported: [String] = []
        for target in config.targets(named: targetNames) {
            guard let seen = status.targets.first(where: { $0.name == target.name }) else {
                unreported.append(target.name)
                worst = CheckCommand.worse(worst, .cannotVerify)
                continue
            }
            shown.append(seen)
            worst = CheckCommand.worse(worst, exitCode(for: seen.health))
        }
        if json {
            let document = StatusDocument(
                generatedAt: now, result: CheckCommand.resultName(worst), exitCode: worst.rawValue,
                daemon: .init(pid: status.pid, writtenAt: status.writtenAt, ageSeconds: age, cycles: status.cycles),
                stale: stale
                    ?? (unreported.isEmpty ? nil : "not reported by the daemon: \(unreported.joined(separator: ", "))"),
                targets: shown)
            StandardStreams.write(CheckCommand.encode(document))
            return worst
        }
        let style = TerminalStyle.forDescriptor(STDOUT_FILENO)
        var lines = ["daemon pid \(status.pid), \(status.cycles) cycle(s), last written \(TimeText.ago(age))"]
        if let stale { lines.append(style.paint("STALE", .red) + ": \(stale); what follows may no longer be true") }
        lines += StatusTable.render(shown, now: now, style: style)
        for name in unreported { lines.append("\(name): not reported by the daemon (added since it started?)") }
        StandardStreams.write(lines.joined(separator: "\n") + "\n")
        return worst
    }

    private func nothingToShow(_ reason: String, now: Int) -> ExitCode {
        if json {
            let document = StatusDocument(
                generatedAt: now, result: CheckCommand.resultName(.cannotVerify),
                exitCode: ExitCode.cannotVerify.rawValue, daemon: nil, stale: reason, targets: [])
            StandardStreams.write(CheckCommand.encode(document))
        } else {
            StandardStreams.writeError(reason + "\n")
        }
        return .cannotVerify
    }

    /// Why the file cannot be trusted: its daemon is gone, or it has not written for several cycles.
    private func staleness(_ status: DaemonStatus, age: Int) -> String? {
        if kill(status.pid, 0) != 0 && errno == ESRCH { return "the daemon (pid \(status.pid)) is not running" }
        let limit = 3 * Int(config.daemon.interval.components.seconds) + 60
        if age > limit { return "no cycle for \(age)s (interval \(config.daemon.interval.secondsText))" }
        if age < -60 { return "written \(-age)s in the future (clock change?)" }
        return nil
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
