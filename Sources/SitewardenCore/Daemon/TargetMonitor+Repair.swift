import Glibc

extension TargetMonitor {
    /// The daemon's way in: the repair brakes first (flapping, an ineffective repair, an installer
    /// at work), then `repair`.
    func guardedRepair(_ report: VerificationReport, services: ServiceManager?) -> TargetHealth {
        switch repairGuard.admit(Self.damage(report.drifts), now: clock()) {
        case .allowed:
            break
        case .flapping(let entered, let restores, let pause):
            repairNote =
                "flapping: \(restores) restores within \(target.restoreWindow.secondsText); "
                + "restores paused for \(pause.secondsText)"
            if entered {
                events.emit(
                    Event(
                        .flapping,
                        "\(target.name): restored \(restores) times within \(target.restoreWindow.secondsText) and drifted "
                            + "again; no restores for \(pause.secondsText), still watching",
                        [
                            ("TARGET", target.name), ("RESTORES", "\(restores)"),
                            ("WINDOW", target.restoreWindow.secondsText), ("BACKOFF", pause.secondsText),
                        ]))
            }
            return .flapping
        case .ineffective:
            repairNote =
                "restores withheld: restoring these files did not bring the routes back; "
                + "run sitewarden restore or reload once the cause is fixed"
            return .drifted
        }
        if changedRecently() {
            // Changing for a whole restore window is no installer (uv's lock covers uv for as long
            // as it runs): something rewrites the files in a loop faster than the quiet period.
            // Restores then go ahead, and the flapping brake counts them and raises the alarm.
            let since = changingSince ?? clock()
            changingSince = since
            if clock() - since < target.restoreWindow.nanoseconds {
                return deferRestore(
                    "the package directory changed within the quiet period", hint: "an installer may still be writing")
            }
        } else {
            changingSince = nil
        }
        return repair(report, services: services)
    }

    /// Skips this cycle's restore; journaled once while it lasts, tried again next cycle.
    private func deferRestore(_ reason: String, hint: String) -> TargetHealth {
        repairNote = "restore deferred: \(reason)"
        if !deferralReported {
            events.emit(
                Event(
                    .restoreDeferred, "\(target.name): restore deferred: \(reason) (\(hint)); tried again next cycle",
                    [("TARGET", target.name), ("REASON", reason)]))
        }
        deferralReported = true
        return .drifted
    }

    /// The damage a restore would undo, as `file|drift|sha256` of each drifted file: the same
    /// damage again means the same bytes in the same files.
    static func damage(_ drifts: [FileDrift]) -> Set<String> {
        Set(drifts.map { "\($0.recordPath)|\($0.kind.name)|\($0.actualSHA256?.hex ?? "")" })
    }

    /// Restores the drifted files from the verified backup, restarts the unit, then verifies and
    /// probes again until the target is whole or the recovery deadline passes.
    ///
    /// A damaged backup stops everything before a file is touched and the unit is not restarted:
    /// restarting onto files nobody can vouch for would only hide the problem.
    ///
    /// `found` is what the cycle saw; the files are verified again under the restore lock, and
    /// that verification decides what is restored.
    func repair(_ found: VerificationReport, services: ServiceManager?) -> TargetHealth {
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

        let venvRoot = (try? Paths.realPath(target.venv)) ?? target.venv
        // Held until the files are in place: no other sitewarden restores this target meanwhile.
        let restoreLock = quarantine.map { RestoreLock.acquire(stateDirectory: $0.stateDirectory, target: target.name) }
        if let restoreLock, restoreLock == nil {
            return deferRestore("another sitewarden is restoring \(target.name)", hint: "it holds the restore lock")
        }
        // Held (shared) until the files are in place: an installer that starts meanwhile waits.
        guard let installerLock = InstallerLock.acquireShared(venv: venvRoot) else {
            return deferRestore("uv holds \(venvRoot)/\(InstallerLock.fileName)", hint: "an installer is at work")
        }
        deferralReported = false
        // Verified again now that nobody else may restore: another sitewarden may have restored
        // these files since `found` was made, and restoring them twice would quarantine good
        // copies as damage under the first damage's record.
        let report = verifier.verify(scanner: scanner, progress: heartbeat)
        guard Self.mayRestore(report, movingExtras: target.quarantineExtras) else {
            return report.failure != nil ? .degraded : report.drifts.isEmpty ? .healthy : .drifted
        }
        let restorer = Restorer(
            venvRoot: venvRoot, backupDirectory: target.backup, manifest: manifest, quarantine: quarantine,
            quarantineExtras: target.quarantineExtras,
            reason: "drift: " + Set(report.drifts.map(\.kind.name)).sorted().joined(separator: ", "))
        let restorable = report.drifts.filter { $0.kind != .extra }
        let leftInPlace = restorer.leftInPlace(report.drifts).map(\.recordPath)
        let files = restorable.map(\.recordPath).joined(separator: " ")
        events.emit(
            Event(
                .restoreStarted,
                restorable.isEmpty
                    ? "\(target.name): moving \(report.drifts.count) extra file(s) into the quarantine"
                    : "\(target.name): restoring \(restorable.count) file(s) from \(target.backup)",
                [("TARGET", target.name), ("FILES", files)]))
        let started = CycleClock.now()
        restoring = true
        defer { restoring = false }
        onRestoreStarted()
        let outcome: Restorer.Outcome
        do {
            outcome = try withExtendedLifetime((installerLock, restoreLock)) { () throws(Restorer.Failure) in
                try restorer.restoreReporting(report.drifts)
            }
            let restored = outcome.files
            var note =
                leftInPlace.isEmpty
                ? ""
                : "; left in place (extra, sitewarden never deletes code): \(leftInPlace.joined(separator: ", "))"
            if !outcome.movedExtras.isEmpty {
                note += "; extra files moved to the quarantine: \(outcome.movedExtras.joined(separator: ", "))"
            }
            if let directory = outcome.quarantineDirectory {
                note += restored.isEmpty ? "; quarantine: \(directory)" : "; replaced files kept in \(directory)"
            }
            if !outcome.quarantineProblems.isEmpty {
                note += "; quarantine incomplete: \(outcome.quarantineProblems.joined(separator: "; "))"
            }
            events.emit(
                Event(
                    .restoreDone,
                    "\(target.name): restored "
                        + (restored.isEmpty ? "no file" : restored.map(\.recordPath).joined(separator: ", "))
                        + " in \(CycleClock.since(started).secondsText)\(note)",
                    [
                        ("TARGET", target.name), ("FILES", restored.map(\.recordPath).joined(separator: " ")),
                        ("SHA256", restored.map(\.sha256).joined(separator: " ")),
                        ("QUARANTINE", outcome.quarantineDirectory ?? ""),
                        ("MOVED_EXTRAS", outcome.movedExtras.joined(separator: " ")),
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
        restores += 1
        lastRestoreAt = Int(time(nil))
        repairGuard.noteRestore(now: clock())
        lastRestoredDamage = Self.damage(report.drifts)

        // Mode and owner are put back in place; the running service needs no restart for them.
        let contentChanged = restorable.contains(where: { $0.kind.isContent }) || !outcome.movedExtras.isEmpty
        guard let unit = target.unit, contentChanged else {
            return confirmAfterRestore()
        }
        restartPending = true
        return finishRepair(unit: unit, services: services)
    }

    /// Restarts the unit so it loads the restored files, then confirms; a failed restart stays
    /// pending and is tried again next cycle.
    func finishRepair(unit: String, services: ServiceManager?) -> TargetHealth {
        guard restart(unit, services: services) else { return .degraded }
        restartPending = false
        return confirmAfterRestore()
    }

    /// How often the files are verified again while the routes fail after a restore.
    static let reverifyInterval: Duration = .seconds(1)

    /// Confirms a restore; when the files verify but the routes stay down past the deadline, the
    /// repair was ineffective: escalate once, and do not restore the same damage again.
    private func confirmAfterRestore() -> TargetHealth {
        let health = confirmRecovery()
        guard health == .probeFailing, !lastRestoredDamage.isEmpty else { return health }
        repairGuard.noteIneffective(lastRestoredDamage)
        let files = Set(lastRestoredDamage.map { String($0.split(separator: "|")[0]) }).sorted()
        lastRestoredDamage = []
        repairNote = "repair ineffective: the routes still fail after restoring \(files.joined(separator: ", "))"
        events.emit(
            Event(
                .repairIneffective,
                "\(target.name): restored \(files.joined(separator: ", ")) but the routes still fail after "
                    + "\(recoveryDeadline.secondsText); not restoring the same damage again",
                [("TARGET", target.name), ("FILES", files.joined(separator: " ")), ("UNIT", target.unit ?? "")]))
        return health
    }

    private func restart(_ unit: String, services: ServiceManager?) -> Bool {
        guard let services else {
            events.emit(
                Event(
                    .unitRestartFailed, "\(target.name): cannot restart \(unit): no connection to systemd",
                    [("TARGET", target.name), ("UNIT", unit)]))
            return false
        }
        resetStartLimitIfDue(unit, services: services)
        let started = CycleClock.now()
        let outcome = services.restart(unit: unit)
        heartbeat()
        switch outcome {
        case .success(let result) where result == "done":
            unitStartedAt = clock()
            events.emit(
                Event(
                    .unitRestarted, "\(target.name): restarted \(unit) in \(CycleClock.since(started).secondsText)",
                    [("TARGET", target.name), ("UNIT", unit), ("JOB_RESULT", result)]))
            return true
        case .success(let result):
            let why = services.serviceResult(unit: unit)
            let fields = [
                ("TARGET", target.name), ("UNIT", unit), ("JOB_RESULT", result), ("SERVICE_RESULT", why ?? ""),
            ]
            if why == "start-limit-hit" {
                if startLimitHitAt == nil {
                    events.emit(
                        Event(
                            .startLimitHit,
                            "\(target.name): \(unit) hit its start limit; systemd refuses to start it"
                                + (target.resetStartLimit
                                    ? " (reset once after \(target.restoreWindow.secondsText))" : ""),
                            fields))
                }
                startLimitHitAt = startLimitHitAt ?? clock()
            } else {
                events.emit(
                    Event(
                        .unitRestartFailed,
                        "\(target.name): restart of \(unit) ended with result \(result)"
                            + (why.map { " (\($0))" } ?? ""), fields))
            }
            return false
        case .failure(let message):
            events.emit(
                Event(
                    .unitRestartFailed, "\(target.name): restart of \(unit) failed: \(message)",
                    [("TARGET", target.name), ("UNIT", unit)]))
            return false
        }
    }

    /// After a start-limit hit, resets the unit once when the configuration allows it and
    /// `restore_window` has passed; a second hit waits for the operator.
    private func resetStartLimitIfDue(_ unit: String, services: ServiceManager) {
        guard let hitAt = startLimitHitAt, target.resetStartLimit, !startLimitResetDone,
            Duration.nanoseconds(Int64(clock() - hitAt)) >= target.restoreWindow
        else { return }
        startLimitResetDone = true
        startLimitHitAt = nil
        _ = services.resetFailed(unit: unit)
    }

    /// Verifies, then probes until every route passes or the deadline passes. While the routes
    /// fail the files are verified again now and then, and at the deadline: damage that came back
    /// while the service restarted (a writer rewriting them in a loop) is new drift, restored and
    /// counted towards flapping next cycle, not a restore that failed to bring the routes back.
    private func confirmRecovery() -> TargetHealth {
        let report = verify()
        guard report.isClean else { return report.failure == nil ? .drifted : .degraded }

        let started = CycleClock.now()
        var verifiedAt = started
        // The grace period is the service's to start in; the deadline runs on after it.
        let deadline = recoveryDeadline + target.startupGrace
        while true {
            probe()
            // Every route passing by its success threshold, not by one lucky answer.
            if routeStates.allSatisfy({ $0.standing == .passing }) {
                events.emit(
                    Event(
                        .targetRecovered, "\(target.name): files verified and every route answers as expected",
                        [
                            ("TARGET", target.name),
                            ("RECOVERY_PROBE_WAIT_MS", "\(CycleClock.since(started).wholeMilliseconds)"),
                        ]))
                return .healthy
            }
            let pastDeadline = CycleClock.since(started) >= deadline
            if pastDeadline || CycleClock.since(verifiedAt) >= Self.reverifyInterval {
                let again = verify()
                verifiedAt = CycleClock.now()
                guard again.isClean else { return again.failure == nil ? .drifted : .degraded }
            }
            guard !pastDeadline else { return .probeFailing }
            CycleClock.sleep(.milliseconds(250))
        }
    }
}
