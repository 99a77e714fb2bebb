import Dispatch
import FoundationEssentials
import Glibc
import Synchronization

/// `sitewarden check`: one verification and probe pass over the targets, printed for a person
/// or, with `--json`, as one documented JSON document for scripts.
public struct CheckCommand {
    public var config: SitewardenConfig
    public var targetNames: [String]
    /// Hash every file, trusting no cached digest (`--full`). By default `check` uses the daemon's
    /// scan cache like a daemon cycle does, and counts towards its periodic full rehash.
    public var full: Bool
    /// Print `CheckDocument` as JSON instead of text.
    public var json: Bool

    public init(config: SitewardenConfig, targetNames: [String], full: Bool = false, json: Bool = false) {
        self.config = config
        self.targetNames = targetNames
        self.full = full
        self.json = json
    }

    public func run() -> ExitCode {
        let style = json ? TerminalStyle.plain : TerminalStyle.forDescriptor(STDOUT_FILENO)
        let progress = ProgressLine()
        var worst = ExitCode.healthy
        var targets: [TargetStatus] = []
        // As the daemon does at start: the state directory made (without it a check would keep no
        // scan cache; one that cannot be made, for another user's check, costs only speed) and
        // what a killed check or daemon left half-written cleared.
        if !full {
            try? makeDirectories(config.daemon.stateDirectory)
            ScanCache.removeInterruptedWrites(stateDirectory: config.daemon.stateDirectory)
        }
        let monitors = config.targets(named: targetNames).map { target in
            TargetMonitor(
                target: target, events: DiscardingSink(),
                scanner: FileScanner.configured(config.daemon, target: target.name, useCache: !full))
        }
        if !full { Self.prepareReuse(monitors, threads: config.daemon.workers) }
        let label = monitors.count == 1 ? "\(monitors[0].target.name): checking files" : "checking files"
        let reports = progress.during(label) { Self.verifyAll(monitors, threads: config.daemon.workers) }
        for (monitor, report) in zip(monitors, reports) {
            let target = monitor.target
            let probes = progress.during("\(target.name): probing routes") { monitor.probe() }
            let outcome = Self.outcome(report, probes)
            if json {
                targets.append(TargetStatus(monitor, health: Self.health(outcome, report)))
            } else {
                StandardStreams.write(
                    Self.render(
                        target, report, probes, duration: monitor.lastCheckDuration,
                        scan: monitor.scanner.cache != nil ? monitor.scanner.lastScan : nil, style))
            }
            worst = Self.worse(worst, outcome)
        }
        if json {
            let document = CheckDocument(
                generatedAt: Int(time(nil)), result: Self.resultName(worst), exitCode: worst.rawValue, targets: targets)
            StandardStreams.write(Self.encode(document))
        } else {
            let result = Self.describe(worst)
            StandardStreams.write(
                "result: \(worst == .healthy ? style.paint(result, .green) : style.paint(result, .red)) "
                    + "(exit \(worst.rawValue))\n")
        }
        return worst
    }

    /// An unchanged install is checked by stat'ing what its last verification read: one target
    /// after another that leaves cores idle, most targets being too small to split. Their stamps
    /// are checked up front on `threads` threads, largest snapshot first.
    static func prepareReuse(_ monitors: [TargetMonitor], threads: Int) {
        guard min(threads, monitors.count) > 1 else { return }
        let sizes = monitors.map(\.snapshotSize)
        nonisolated(unsafe) let shared = monitors
        largestFirst(sizes, threads: threads) { shared[$0].prepareReuse() }
    }

    /// Verifies every target, `threads` of them at a time, largest first (by the size of its
    /// RECORD), and returns the reports in the order of `monitors`.
    ///
    /// One target after another leaves a core idle whenever a target is in its single-threaded
    /// parts (RECORD, the expectations, the extra-file walk) or too small for its scan to be split.
    /// Each target's scan still uses the configured workers, so one large target alone is not
    /// slower than before.
    static func verifyAll(_ monitors: [TargetMonitor], threads: Int) -> [VerificationReport] {
        guard min(threads, monitors.count) > 1 else { return monitors.map { $0.verify() } }
        let estimates = monitors.map(\.workEstimate)
        nonisolated(unsafe) let shared = monitors
        let reports = Mutex([VerificationReport?](repeating: nil, count: monitors.count))
        largestFirst(estimates, threads: threads) { index in
            let report = shared[index].verify()
            reports.withLock { $0[index] = report }
        }
        return reports.withLock { $0.map { $0! } }
    }

    /// Runs `body` for every index of `sizes` on `threads` threads, each taking the next index,
    /// largest size first (ties in index order), so that no thread is left with a large one at
    /// the end. Returns when all are done.
    static func largestFirst(_ sizes: [Int], threads: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let order = sizes.indices.sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }
        let next = Atomic<Int>(0)
        let work: @Sendable () -> Void = {
            while true {
                let claimed = next.add(1, ordering: .relaxed).oldValue
                guard claimed < order.count else { return }
                body(order[claimed])
            }
        }
        // Explicit hand-offs: concurrentPerform ran both long iterations on the calling thread
        // before a pool thread woke up.
        let group = DispatchGroup()
        for _ in 1..<min(threads, order.count) {
            DispatchQueue.global().async(group: group, execute: work)
        }
        work()
        group.wait()
    }

    /// A JSON document as sitewarden prints it: sorted snake_case keys, indented, one newline.
    static func encode(_ document: some Encodable) -> String {
        guard let bytes = try? StatusFile.encoder().encode(document) else {
            preconditionFailure("a JSON document of plain values failed to encode")
        }
        return String(decoding: bytes, as: UTF8.self) + "\n"
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

    /// The health a one-shot check found, in the daemon's terms.
    static func health(_ outcome: ExitCode, _ report: VerificationReport) -> TargetHealth {
        switch outcome {
        case .healthy: .healthy
        case .drift: .drifted
        case .probeFailure: .probeFailing
        case .versionChanged: .versionChanged
        default: report.failure == nil && report.notCovered != nil ? .notCovered : .degraded
        }
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

    /// The verdict as one token, for JSON: `describe` with `-` for spaces.
    static func resultName(_ code: ExitCode) -> String {
        String(describe(code).map { $0 == " " ? "-" : $0 })
    }

    /// `scan`: what a scanner with a cache did, said beside the count (nil: it has no cache).
    /// How the files were known: whether the scan cache or the last report spared reading them.
    static func describe(_ scan: ScanStatistics) -> String {
        if scan.reusedReport { return " (nothing changed since the last check: its report stands)" }
        if scan.files == 0 { return "" }
        if scan.fullRehash { return " (all \(scan.hashed) hashed: the periodic full rehash, or no usable scan cache)" }
        return " (\(scan.hashed) hashed, \(scan.fromCache) unchanged since the scan cache)"
    }

    static func render(
        _ target: TargetConfig, _ report: VerificationReport, _ probes: [ProbeResult], duration: Duration? = nil,
        scan: ScanStatistics? = nil, _ style: TerminalStyle = .plain
    ) -> String {
        var lines = [
            "\(style.paint(target.name, .bold)): \(target.distribution) \(report.version ?? target.version ?? "?") in \(target.venv)"
        ]
        if let failure = report.failure {
            lines.append("  \(style.paint("cannot verify", .red)): \(failure)")
        } else {
            let drifted = "\(report.drifts.count) drifted"
            let took = duration.map { " in \($0.secondsText)" } ?? ""
            lines.append(
                "  files:   \(report.filesChecked) checked\(took)\(scan.map(Self.describe) ?? ""), "
                    + (report.drifts.isEmpty ? drifted : style.paint(drifted, .red)))
        }
        for drift in report.drifts {
            lines.append("    \(drift)")
        }
        if let notCovered = report.notCovered {
            lines.append("  \(style.paint("NOT COVERED", .yellow)): \(notCovered)")
        }
        if let change = report.versionChange {
            lines.append(
                change.pinned
                    ? "  \(change): the baseline's files are restored by sitewarden restore"
                    : "  \(change): the files were verified against \(change.to)'s RECORD; the baseline is of "
                        + "\(change.from). If the upgrade was intended: sitewarden baseline --adopt")
        }
        for warning in report.warnings {
            lines.append("  \(style.paint("warning", .yellow)): \(warning)")
        }
        for probe in probes {
            let verdict = probe.passed ? style.paint("ok  ", .green) : style.paint("FAIL", .red)
            lines.append("  route:   \(verdict) \(probe.summary) (\(probe.elapsed.wholeMilliseconds) ms)")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Drops events: one-shot commands print their own report instead of logging each step.
struct DiscardingSink: EventSink {
    func emit(_ event: Event) {}
}
