/// `sitewarden check`: one verification and probe pass over the targets, printed for a person.
public struct CheckCommand {
    public var config: SitewardenConfig
    public var targetNames: [String]
    /// Hash every file, trusting no cached digest (`--full`). By default `check` uses the daemon's
    /// scan cache like a daemon cycle does, and counts towards its periodic full rehash.
    public var full: Bool

    public init(config: SitewardenConfig, targetNames: [String], full: Bool = false) {
        self.config = config
        self.targetNames = targetNames
        self.full = full
    }

    public func run() -> ExitCode {
        var worst = ExitCode.healthy
        for target in config.targets(named: targetNames) {
            let scanner = FileScanner.configured(config.daemon, target: target.name, useCache: !full)
            let monitor = TargetMonitor(target: target, events: DiscardingSink(), scanner: scanner)
            let report = monitor.verify()
            let probes = monitor.probe()
            StandardStreams.write(Self.render(target, report, probes))
            worst = Self.worse(worst, Self.outcome(report, probes))
        }
        StandardStreams.write("result: \(Self.describe(worst)) (exit \(worst.rawValue))\n")
        return worst
    }

    /// Sources an editable install keeps outside site-packages are not covered: that cannot be
    /// verified, never healthy. An unadopted upgrade is its own verdict, not damage.
    static func outcome(_ report: VerificationReport, _ probes: [ProbeResult]) -> ExitCode {
        if report.failure != nil { return .cannotVerify }
        if !report.drifts.isEmpty { return .drift }
        if report.notCovered != nil { return .cannotVerify }
        if report.versionChange != nil { return .versionChanged }
        return probes.allSatisfy(\.passed) ? .healthy : .probeFailure
    }

    /// Drift outranks everything: damaged code is the thing sitewarden exists to catch.
    static func worse(_ lhs: ExitCode, _ rhs: ExitCode) -> ExitCode {
        let rank: [ExitCode: Int] = [.healthy: 0, .probeFailure: 1, .versionChanged: 2, .cannotVerify: 3, .drift: 4]
        return rank[rhs, default: 0] > rank[lhs, default: 0] ? rhs : lhs
    }

    static func describe(_ code: ExitCode) -> String {
        switch code {
        case .healthy: "healthy"
        case .drift: "drift"
        case .probeFailure: "probe failure"
        case .cannotVerify: "cannot verify"
        case .versionChanged: "version changed"
        case .usage: "usage error"
        case .config: "configuration error"
        }
    }

    static func render(_ target: TargetConfig, _ report: VerificationReport, _ probes: [ProbeResult]) -> String {
        var lines = [
            "\(target.name): \(target.distribution) \(report.version ?? target.version ?? "?") in \(target.venv)"
        ]
        if let failure = report.failure {
            lines.append("  cannot verify: \(failure)")
        } else {
            lines.append("  files: \(report.filesChecked) checked, \(report.drifts.count) drifted")
        }
        for drift in report.drifts {
            lines.append("    \(drift)")
        }
        if let notCovered = report.notCovered {
            lines.append("  NOT COVERED: \(notCovered)")
        }
        if let change = report.versionChange {
            lines.append(
                change.pinned
                    ? "  \(change): the baseline's files are restored by sitewarden restore"
                    : "  \(change): the files were verified against \(change.to)'s RECORD; the baseline is of "
                        + "\(change.from). If the upgrade was intended: sitewarden baseline --adopt")
        }
        for warning in report.warnings {
            lines.append("  warning: \(warning)")
        }
        for probe in probes {
            lines.append("  route: \(probe.passed ? "ok  " : "FAIL") \(probe.summary)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Drops events: one-shot commands print their own report instead of logging each step.
struct DiscardingSink: EventSink {
    func emit(_ event: Event) {}
}
