import Glibc

/// Watches one target: verifies its files, probes its routes, repairs drift, confirms recovery.
///
/// Returns what it found and emits each outcome once as an event; it never prints. One monitor
/// lives per target for the daemon's lifetime so it remembers which routes were failing and which
/// drift it already reported.
public final class TargetMonitor {
    public let target: TargetConfig
    let events: EventSink
    /// Runs the routes concurrently and keeps their connections from one cycle to the next.
    private let probes = ProbeSession()
    let heartbeat: @Sendable () -> Void
    /// Observes the files: its workers and scan cache come from `[daemon]`; replaced on reload.
    public var scanner: FileScanner

    public private(set) var health = TargetHealth.unknown
    public private(set) var lastReport: VerificationReport?
    public private(set) var lastProbes: [ProbeResult] = []
    /// Each route's standing, by its index in `target.routes`.
    private(set) var routeStates: [RouteState]
    /// When sitewarden last started or restarted the unit (monotonic ns): route failures within
    /// `startup_grace` of it do not count.
    var unitStartedAt: UInt64?
    /// What was last reported, so a condition that persists is logged once, not every cycle.
    private var reportedFailure: String?
    private var reportedDrifts = Set<String>()
    private var reportedMissingPackages = Set<String>()
    /// What was already journaled and still holds: conditions that last (a warning, an extra file,
    /// an adopted-or-not upgrade, uncovered sources) are logged once, not every cycle.
    private var reportedWarnings = Set<String>()
    private var reportedVersionChange: VersionChange?
    private var reportedNotCovered: String?
    /// Files were restored but the unit's restart failed: the service still runs the damaged code
    /// it loaded, so clean files alone do not make the target healthy.
    var restartPending = false
    /// When the unit was last refused for hitting its start limit; reported once per episode.
    var startLimitHitAt: UInt64?
    /// `reset_start_limit` resets a unit once per daemon run, never in a loop.
    var startLimitResetDone = false

    /// How long to keep re-probing after a restart before calling the repair a failure:
    /// `done` from systemd means the unit started, not that it serves yet.
    var recoveryDeadline: Duration = .seconds(30)

    /// Where replaced files are kept; the daemon and `restore` set it from `[daemon]`.
    public var quarantine: Quarantine?
    /// Monotonic nanoseconds; a seam so tests move time instead of sleeping.
    var clock: () -> UInt64 = CycleClock.now
    /// True while the package directories changed within the quiet period (the daemon asks its
    /// `ChangeWatcher`): an installer may be half-way, so a restore waits.
    var changedRecently: () -> Bool = { false }
    /// Flapping and ineffective-repair brakes.
    var repairGuard: RepairGuard
    /// The damage the last restore replaced, to mark it when the routes stay down afterwards.
    var lastRestoredDamage: Set<String> = []
    /// Since when (monitor clock) every repair found the package directory changed within the
    /// quiet period; nil once a cycle finds it quiet.
    var changingSince: UInt64?
    /// A deferral was journaled and no restore has run since: said once while it lasts.
    var deferralReported = false
    /// Why the target is not being repaired right now, for STATUS= and `sitewarden status`.
    public internal(set) var repairNote: String?
    /// For `sitewarden status` and the metrics: when the last verification started (Unix seconds)
    /// and how long it took, when drift was last seen, when files were last restored, how often.
    public private(set) var lastCheckAt: Int?
    public private(set) var lastCheckDuration: Duration?
    public private(set) var lastDriftAt: Int?
    public internal(set) var lastRestoreAt: Int?
    public internal(set) var restores = 0
    /// True from a restore's start until its confirmation: status shows `restoring`.
    public internal(set) var restoring = false
    /// Called on the cycle's thread as a restore starts, so the daemon can publish `restoring`.
    var onRestoreStarted: () -> Void = {}

    public init(
        target: TargetConfig, events: EventSink, scanner: FileScanner = FileScanner(),
        heartbeat: @escaping @Sendable () -> Void = {}
    ) {
        self.target = target
        self.events = events
        self.routeStates = Array(repeating: RouteState(), count: target.routes.count)
        self.scanner = scanner
        self.heartbeat = heartbeat
        self.repairGuard = RepairGuard(maxRestores: target.maxRestores, window: target.restoreWindow)
    }

    /// Forgets flapping and ineffective repairs: the operator reloaded the configuration.
    public func resetRepairGuard() {
        repairGuard = RepairGuard(maxRestores: target.maxRestores, window: target.restoreWindow)
        lastRestoredDamage = []
    }

    /// One pass: verify, probe, and when files drifted (and `repair` allows), restore them,
    /// restart the unit and confirm.
    public func runCycle(repair: Bool, services: ServiceManager?) -> TargetHealth {
        noteUnitStart(services)
        var report = verify()
        let (_, transitions) = runProbes()
        // A route that has just begun to fail may be explained by a file the scan cache vouched
        // for by its stamp alone: look at every byte now rather than at the next full rehash.
        let newlyFailing = routeStates.contains { $0.justStartedFailing }
        if newlyFailing && !scanner.lastScan.fullRehash {
            report = verify(full: true)
        }
        reportTransitions(transitions, explainedBy: report)

        // A file whose read stalled is unknown this cycle, not damaged: writing a copy beside it
        // would block on the same hung mount. It is read again next cycle.
        var repairable = report
        repairable.drifts.removeAll(where: \.isStalledRead)

        // Observe mode reports everything and changes nothing.
        let repairing = repair && target.mode == .repair
        repairNote = target.mode == .observe ? "observe only: nothing is restored or restarted" : nil
        if report.failure != nil {
            health = .degraded
        } else if !repairable.drifts.isEmpty {
            health = .drifted
            if repairing && Self.mayRestore(repairable, movingExtras: target.quarantineExtras && quarantine != nil) {
                health = guardedRepair(repairable, services: services)
            }
        } else if !report.drifts.isEmpty {
            health = .degraded
        } else if restartPending, let unit = target.unit {
            health = repairing ? finishRepair(unit: unit, services: services) : .degraded
        } else if report.notCovered != nil {
            health = .notCovered
        } else if report.versionChange != nil {
            health = .versionChanged
        } else {
            health = routeStates.contains { $0.standing == .failing } ? .probeFailing : .healthy
            if health == .healthy { repairGuard.noteHealthy(now: clock()) }
        }
        if repairNote == nil, repairGuard.isFlapping { repairNote = "flapping: restores paused" }
        return health
    }

    /// This target's part of STATUS=: health, what it rests on, and why it is not being repaired.
    public var statusLine: String {
        let files = lastReport.map { "\($0.filesChecked) files" } ?? "not verified"
        let routes =
            lastProbes.isEmpty
            ? "" : ", \(routeStates.filter { $0.standing != .failing }.count)/\(routeStates.count) routes ok"
        // The first failing routes, with their reason, latency and the address tried: what
        // `systemctl status` readers act on.
        let failing = routeStates.filter { $0.standing == .failing }.compactMap(\.last).prefix(2)
        let failures = failing.map { "; \($0.summary) [\($0.elapsed.wholeMilliseconds) ms, \($0.address)]" }.joined()
        let note = repairNote.map { "; \($0)" } ?? ""
        return "\(target.name): \(health.rawValue) (\(files)\(routes)\(note)\(failures))"
    }

    /// Each probed route's last result with its standing, for the status file and `status`.
    var probeStatuses: [ProbeStatus] {
        lastProbes.enumerated().map { index, result in
            ProbeStatus(result, standing: index < routeStates.count ? routeStates[index] : nil)
        }
    }

    /// Something in the report a restore can fix: not only extras (never deleted; moved to the
    /// quarantine only when `movingExtras`), and not drift in an unadopted upgrade (the baseline
    /// is of another version).
    static func mayRestore(_ report: VerificationReport, movingExtras: Bool = false) -> Bool {
        report.drifts.contains { $0.kind != .extra || movingExtras } && report.versionChange?.pinned != false
    }

    /// Verifies the files and reports the result; emits one event per drifted file (an extra file
    /// once while it stays), and each warning, version change and uncovered install once.
    @discardableResult
    public func verify(full: Bool = false) -> VerificationReport {
        let started = CycleClock.now()
        let startedAt = Int(time(nil))
        scanner.forceFullRehash = full
        let report = verifier.verify(scanner: scanner, progress: heartbeat)
        heartbeat()
        lastReport = report
        lastCheckAt = startedAt
        lastCheckDuration = CycleClock.since(started)
        if !report.drifts.isEmpty { lastDriftAt = startedAt }

        if let failure = report.failure, failure != reportedFailure {
            events.emit(
                Event(
                    report.backupDamaged ? .backupDamaged : .verificationFailed,
                    "\(target.name): cannot verify: \(failure)", [("TARGET", target.name)]))
        }
        reportedFailure = report.failure

        // A drift is journaled when it appears or changes, not again every cycle it lasts.
        var current = Set<String>()
        for drift in report.drifts {
            let key = "\(drift.venvPath)|\(drift.kind.name)|\(drift.actualSHA256?.hex ?? "")"
            current.insert(key)
            if !reportedDrifts.contains(key) { events.emit(driftEvent(drift)) }
        }
        reportedDrifts = current
        reportMissingPackages(report)
        reportOnce(report)
        events.emit(
            Event(
                .checkCompleted,
                "\(target.name): \(report.filesChecked) files checked, \(report.drifts.count) drifted in \(CycleClock.since(started).secondsText)",
                [
                    ("TARGET", target.name), ("FILES_CHECKED", "\(report.filesChecked)"),
                    ("DRIFTED", "\(report.drifts.count)"),
                ]
            ))
        return report
    }

    /// Probes every route once, concurrently; emits on each change between passing and failing,
    /// explained by the last verification.
    @discardableResult
    public func probe() -> [ProbeResult] {
        let (results, transitions) = runProbes()
        reportTransitions(transitions, explainedBy: lastReport)
        return results
    }

    /// A unit restarted by anyone (an operator, a deploy, systemd's Restart=) starts the grace
    /// period too; asked only when there is a grace period to grant.
    private func noteUnitStart(_ services: ServiceManager?) {
        guard target.startupGrace > .zero, let unit = target.unit, let since = services?.activeSince(unit: unit) else {
            return
        }
        if since > (unitStartedAt ?? 0) { unitStartedAt = since }
    }

    /// Probes every route and updates their standings; the transitions are reported by the caller
    /// once it knows what explains them.
    private func runProbes() -> ([ProbeResult], [(Int, RouteState.Transition)]) {
        lastProbes = probes.run(target.routes.map(\.probeRequest), progress: heartbeat)
        heartbeat()
        let now = clock()
        // The unit may have started with sitewarden (at boot): the first probes get the grace period too.
        let startedAt = unitStartedAt ?? now
        unitStartedAt = startedAt
        let inGrace =
            Duration.nanoseconds(Int64(clamping: now >= startedAt ? now - startedAt : 0)) < target.startupGrace
        var transitions: [(Int, RouteState.Transition)] = []
        for (index, result) in lastProbes.enumerated() {
            let route = target.routes[index]
            if let transition = routeStates[index].record(
                result, failureThreshold: route.failureThreshold, successThreshold: route.successThreshold,
                inGrace: inGrace)
            {
                transitions.append((index, transition))
            }
        }
        return (lastProbes, transitions)
    }

    /// One entry per route that turned failing or passing. A failure says what explains it: the
    /// drifted files, or that the code on disk verified intact and the cause lies elsewhere.
    private func reportTransitions(
        _ transitions: [(Int, RouteState.Transition)], explainedBy report: VerificationReport?
    ) {
        for (index, transition) in transitions {
            guard let result = routeStates[index].last else { continue }
            var fields = [
                ("TARGET", target.name), ("URL", result.url), ("METHOD", result.method.rawValue),
                ("HTTP_STATUS", result.status.map(String.init) ?? ""),
                ("LATENCY_MS", "\(result.elapsed.wholeMilliseconds)"), ("ADDRESS", result.address),
            ]
            switch transition {
            case .recovered:
                events.emit(Event(.probeRecovered, "\(target.name): \(result.summary)", fields))
            case .failed:
                let (cause, explanation, files) = ProbeCorrelation.explain(
                    report, fullScan: scanner.lastScan.fullRehash)
                fields += [
                    ("REASON", result.verdict.name), ("FAILURES", "\(routeStates[index].consecutiveFailures)"),
                    ("CAUSE", cause.rawValue), ("DRIFTED_FILES", files),
                ]
                events.emit(Event(.probeFailed, "\(target.name): \(result.summary); \(explanation)", fields))
            }
        }
    }

    /// A whole package directory gone (CASES.md 2b) is worse than missing files: nothing of the
    /// package can be imported. Each such directory is reported once, at critical priority.
    private func reportMissingPackages(_ report: VerificationReport) {
        var gone = Set<String>()
        for drift in report.drifts where drift.kind == .missing && !drift.recordPath.hasPrefix("..") {
            guard let top = drift.recordPath.split(separator: "/").first, drift.recordPath.contains("/"),
                drift.venvPath.hasSuffix(drift.recordPath)
            else { continue }
            let sitePackages = String(drift.venvPath.dropLast(drift.recordPath.count))
            let directory = target.venv + "/" + sitePackages + top
            var info = stat()
            if lstat(directory, &info) != 0 { gone.insert(String(top)) }
        }
        for package in gone.subtracting(reportedMissingPackages).sorted() {
            events.emit(
                Event(
                    .packageMissing, "\(target.name): the whole package directory \(package)/ is gone",
                    [("TARGET", target.name), ("PACKAGE", package)]))
        }
        reportedMissingPackages = gone
    }

    private func reportOnce(_ report: VerificationReport) {
        for warning in report.warnings where !reportedWarnings.contains(warning) {
            events.emit(
                Event(
                    .verificationWarning, "\(target.name): \(warning)",
                    [("TARGET", target.name), ("WARNING", warning)]))
        }
        reportedWarnings = Set(report.warnings)

        if let change = report.versionChange, change != reportedVersionChange {
            events.emit(
                Event(
                    .versionChanged, "\(target.name): \(change)",
                    [
                        ("TARGET", target.name), ("OLD_VERSION", change.from), ("NEW_VERSION", change.to),
                        ("PINNED", change.pinned ? "yes" : "no"),
                    ]))
        }
        reportedVersionChange = report.versionChange

        if let notCovered = report.notCovered, notCovered != reportedNotCovered {
            events.emit(
                Event(.verificationFailed, "\(target.name): not covered: \(notCovered)", [("TARGET", target.name)]))
        }
        reportedNotCovered = report.notCovered
    }

    /// Checks now whether the next verification can reuse the last clean report; thread-safe
    /// across monitors (each has its own scanner), not for one monitor used concurrently.
    public func prepareReuse() {
        verifier.prepareReuse(scanner: scanner)
    }

    /// How much verifying costs, for ordering several: nothing when a prepared snapshot will be
    /// reused, else the size of the distribution's RECORD (`Verifier.workEstimate`).
    var workEstimate: Int {
        scanner.hasPreparedReuse ? 0 : verifier.workEstimate
    }

    /// The size of the kept snapshot in bytes (0 when there is none): how much a reuse check costs.
    var snapshotSize: Int {
        guard let cache = scanner.cache else { return 0 }
        var info = stat()
        return stat(VerificationSnapshot(beside: cache).path, &info) == 0 ? Int(info.st_size) : 0
    }

    var verifier: Verifier {
        Verifier(
            target: target.name, venv: target.venv, distribution: target.distribution, version: target.version,
            backupDirectory: target.backup, policy: target.policy)
    }

    private func driftEvent(_ drift: FileDrift) -> Event {
        var fields = [
            ("TARGET", target.name), ("FILE", drift.recordPath), ("DRIFT", drift.kind.name),
            ("EXPECTED_SHA256", drift.expectedSHA256?.hex ?? ""),
            ("EXPECTED_SIZE", drift.expectedSize.map(String.init) ?? ""),
            ("ACTUAL_SHA256", drift.actualSHA256?.hex ?? ""), ("ACTUAL_SIZE", drift.actualSize.map(String.init) ?? ""),
            ("DISAGREES_WITH", disagreement(drift)),
        ]
        if case .truncated(let diagnosis) = drift.kind {
            fields += [("KEPT_LINES", "\(diagnosis.keptLines)"), ("TOTAL_LINES", "\(diagnosis.totalLines)")]
        }
        if drift.kind == .metadata, let expected = drift.expectedMetadata, let actual = drift.actualMetadata {
            fields += [
                ("EXPECTED_MODE", octal(expected.mode)), ("ACTUAL_MODE", octal(actual.mode)),
                ("EXPECTED_OWNER", "\(expected.owner):\(expected.group)"),
                ("ACTUAL_OWNER", "\(actual.owner):\(actual.group)"),
            ]
        }
        return Event(.driftFound, "\(target.name): \(drift)", fields)
    }

    private func disagreement(_ drift: FileDrift) -> String {
        switch (drift.disagreesWithRecord, drift.disagreesWithBaseline) {
        case (true, true): "record,baseline"
        case (true, false): "record"
        case (false, true): "baseline"
        case (false, false): ""
        }
    }
}

extension FileDrift {
    /// The file's read stalled past the read timeout: its state is unknown, so it is not restored.
    var isStalledRead: Bool {
        if case .unreadable(let error) = kind { return StallGuard.isTimeout(error) }
        return false
    }
}

extension ProbeResult {
    var passed: Bool { verdict == .passed }
}
