extension TargetMonitor {
    /// Restores the drifted files from the verified backup, restarts the unit, then verifies and
    /// probes again until the target is whole or the recovery deadline passes.
    ///
    /// A damaged backup stops everything before a file is touched and the unit is not restarted:
    /// restarting onto files nobody can vouch for would only hide the problem.
    func repair(_ report: VerificationReport, services: ServiceManager?) -> TargetHealth {
        let manifest: BaselineManifest
        do {
            guard let loaded = try BaselineManifest.load(backupDirectory: target.backup) else {
                events.emit(
                    Event(
                        .restoreFailed,
                        "\(target.name): no baseline recorded in \(target.backup); run sitewarden baseline",
                        [("TARGET", target.name)]))
                return .degraded
            }
            manifest = loaded
        } catch {
            events.emit(Event(.backupDamaged, "\(target.name): \(error)", [("TARGET", target.name)]))
            return .degraded
        }

        let restorable = report.drifts.filter { $0.kind != .extra }
        let leftInPlace = Restorer.leftInPlace(report.drifts).map(\.recordPath)
        let files = restorable.map(\.recordPath).joined(separator: " ")
        events.emit(
            Event(
                .restoreStarted, "\(target.name): restoring \(restorable.count) file(s) from \(target.backup)",
                [("TARGET", target.name), ("FILES", files)]))
        let started = CycleClock.now()
        let venvRoot = (try? Paths.realPath(target.venv)) ?? target.venv
        do {
            let restored = try Restorer(venvRoot: venvRoot, backupDirectory: target.backup, manifest: manifest)
                .restore(restorable)
            let note =
                leftInPlace.isEmpty
                ? ""
                : "; left in place (extra, sitewarden never deletes code): \(leftInPlace.joined(separator: ", "))"
            events.emit(
                Event(
                    .restoreDone,
                    "\(target.name): restored \(restored.map(\.recordPath).joined(separator: ", ")) in \(CycleClock.since(started).secondsText)\(note)",
                    [
                        ("TARGET", target.name), ("FILES", restored.map(\.recordPath).joined(separator: " ")),
                        ("SHA256", restored.map(\.sha256).joined(separator: " ")),
                    ]))
        } catch {
            switch error {
            case .backupDamaged(let file, _):
                events.emit(
                    Event(
                        .backupDamaged, "\(target.name): \(error); unit not restarted",
                        [("TARGET", target.name), ("FILE", file)]))
            case .noKnownGoodCopy(let file):
                events.emit(
                    Event(.restoreFailed, "\(target.name): \(error)", [("TARGET", target.name), ("FILE", file)]))
            case .repair(let cause):
                events.emit(
                    Event(
                        .restoreFailed, "\(target.name): \(error)",
                        [("TARGET", target.name), ("FILE", cause.file), ("STEP", cause.step)]))
            }
            return .degraded
        }
        heartbeat()

        // Mode and owner are put back in place; the running service needs no restart for them.
        guard let unit = target.unit, restorable.contains(where: { $0.kind.isContent }) else {
            return confirmRecovery()
        }
        restartPending = true
        return finishRepair(unit: unit, services: services)
    }

    /// Restarts the unit so it loads the restored files, then confirms; a failed restart stays
    /// pending and is tried again next cycle.
    func finishRepair(unit: String, services: ServiceManager?) -> TargetHealth {
        guard restart(unit, services: services) else { return .degraded }
        restartPending = false
        return confirmRecovery()
    }

    private func restart(_ unit: String, services: ServiceManager?) -> Bool {
        guard let services else {
            events.emit(
                Event(
                    .unitRestartFailed, "\(target.name): cannot restart \(unit): no connection to systemd",
                    [("TARGET", target.name), ("UNIT", unit)]))
            return false
        }
        let started = CycleClock.now()
        let outcome = services.restart(unit: unit)
        heartbeat()
        switch outcome {
        case .success(let result) where result == "done":
            events.emit(
                Event(
                    .unitRestarted, "\(target.name): restarted \(unit) in \(CycleClock.since(started).secondsText)",
                    [("TARGET", target.name), ("UNIT", unit), ("JOB_RESULT", result)]))
            return true
        case .success(let result):
            events.emit(
                Event(
                    .unitRestartFailed, "\(target.name): restart of \(unit) ended with result \(result)",
                    [("TARGET", target.name), ("UNIT", unit), ("JOB_RESULT", result)]))
            return false
        case .failure(let message):
            events.emit(
                Event(
                    .unitRestartFailed, "\(target.name): restart of \(unit) failed: \(message)",
                    [("TARGET", target.name), ("UNIT", unit)]))
            return false
        }
    }

    /// Verifies once, then probes until every route passes or the deadline passes.
    private func confirmRecovery() -> TargetHealth {
        let report = verify()
        guard report.isClean else { return report.failure == nil ? .drifted : .degraded }

        let started = CycleClock.now()
        while true {
            let results = probe()
            if results.allSatisfy(\.passed) {
                events.emit(
                    Event(
                        .targetRecovered, "\(target.name): files verified and every route answers as expected",
                        [
                            ("TARGET", target.name),
                            ("RECOVERY_PROBE_WAIT_MS", "\(CycleClock.since(started).wholeMilliseconds)"),
                        ]))
                return .healthy
            }
            guard CycleClock.since(started) < recoveryDeadline else { return .probeFailing }
            CycleClock.sleep(.milliseconds(250))
        }
    }
}
