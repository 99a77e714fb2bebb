/// `sitewarden restore`: the daemon's repair, on demand: verify, restore what drifted from the
/// verified backup, restart the unit, confirm. `--dry-run` only lists what would be restored.
public struct RestoreCommand {
    public var config: SitewardenConfig
    public var targetNames: [String]
    public var dryRun: Bool

    public init(config: SitewardenConfig, targetNames: [String], dryRun: Bool) {
        self.config = config
        self.targetNames = targetNames
        self.dryRun = dryRun
    }

    public func run() -> ExitCode {
        var result = ExitCode.healthy
        let events = PrintingSink(alsoJournal: !dryRun)
        let services = dryRun ? nil : SystemdServiceManager()
        for target in config.targets(named: targetNames) {
            // Staged copies of an interrupted restore go first, so what is verified is each file
            // old or new. A dry run changes nothing, so it only says they are there.
            if !dryRun {
                let removed = StagedLeftovers.remove(for: target)
                if !removed.isEmpty {
                    events.emit(
                        Event(
                            .stagedRemoved,
                            "\(target.name): removed \(removed.count) staged file(s) of an interrupted restore",
                            [("TARGET", target.name), ("FILES", removed.joined(separator: " "))]))
                }
            }
            // A restore decides what to overwrite: every file is hashed, no cached digest trusted.
            let monitor = TargetMonitor(
                target: target, events: dryRun ? DiscardingSink() : events,
                scanner: FileScanner(workers: config.daemon.workers, readTimeout: config.daemon.readTimeout))
            monitor.quarantine = Quarantine(
                stateDirectory: config.daemon.stateDirectory, target: target.name, limit: config.daemon.quarantineLimit)
            let report = ProgressLine().during("\(target.name): checking files") { monitor.verify() }
            if let failure = report.failure {
                StandardStreams.writeError("\(target.name): cannot verify: \(failure)\n")
                result = .cannotVerify
                continue
            }
            // Extras go into the quarantine in a repair that moves them, as in the daemon's;
            // otherwise they stay.
            let movesExtras = target.quarantineExtras && target.mode == .repair && !dryRun
            if !movesExtras {
                for extra in Restorer.leftInPlace(report.drifts) {
                    StandardStreams.write("\(target.name): \(extra); left in place\n")
                    result = CheckCommand.worse(result, .drift)
                }
            }
            if let change = report.versionChange, !change.pinned {
                StandardStreams.writeError(
                    "\(target.name): \(change); the baseline is of \(change.from), so nothing is restored from it. "
                        + "If the upgrade was intended: sitewarden baseline --adopt\n")
                result = CheckCommand.worse(result, report.drifts.isEmpty ? .versionChanged : .drift)
                continue
            }
            guard TargetMonitor.mayRestore(report, movingExtras: movesExtras) else {
                if report.drifts.isEmpty {
                    StandardStreams.write("\(target.name): nothing to restore (\(report.filesChecked) files match)\n")
                }
                continue
            }
            if dryRun {
                result = CheckCommand.worse(result, dryRunReport(target, report))
                continue
            }
            guard target.mode == .repair else {
                StandardStreams.writeError(
                    "\(target.name): mode = \"observe\": nothing is restored (set mode = \"repair\", or use --dry-run)\n"
                )
                result = CheckCommand.worse(result, .drift)
                continue
            }
            switch monitor.repair(report, services: services) {
            case .healthy: break
            case .drifted: result = CheckCommand.worse(result, .drift)
            default: result = CheckCommand.worse(result, .cannotVerify)
            }
        }
        return result
    }
}

extension RestoreCommand {
    /// Lists what a restore would do, after the same backup checks a restore makes first.
    private func dryRunReport(_ target: TargetConfig, _ report: VerificationReport) -> ExitCode {
        let manifest: BaselineManifest
        do {
            guard let loaded = try BaselineManifest.load(backupDirectory: target.backup) else {
                StandardStreams.writeError(
                    "\(target.name): no baseline recorded in \(target.backup); nothing to restore from\n")
                return .cannotVerify
            }
            manifest = loaded
        } catch {
            StandardStreams.writeError("\(target.name): \(error)\n")
            return .cannotVerify
        }
        let venvRoot = (try? Paths.realPath(target.venv)) ?? target.venv
        do {
            _ = try Restorer(venvRoot: venvRoot, backupDirectory: target.backup, manifest: manifest).plan(report.drifts)
        } catch {
            StandardStreams.writeError("\(target.name): a restore would be refused: \(error)\n")
            return .cannotVerify
        }
        StandardStreams.write("\(target.name): would restore from \(target.backup) (backup verified):\n")
        for drift in report.drifts where drift.kind != .extra { StandardStreams.write("  \(drift)\n") }
        if let unit = target.unit { StandardStreams.write("  then restart \(unit)\n") }
        return .drift
    }
}

/// Prints each event for the operator at the terminal, and journals it so the audit trail
/// of a manual restore is the same as the daemon's.
struct PrintingSink: EventSink {
    let alsoJournal: Bool

    func emit(_ event: Event) {
        guard event.kind.priority < .debug else { return }
        StandardStreams.write(event.message + "\n")
        // Already shown above: without a journal, nothing more to say on stderr.
        if alsoJournal { JournalSink(stderrWithoutJournal: false).emit(event) }
    }
}
