import Dispatch
import Glibc
import Synchronization

/// The long-running service: a Dispatch timer drives check cycles over every target,
/// the watchdog pings from the cycle's progress, and signals stop or reload it.
///
/// All cycle work runs on one serial queue, so a SIGTERM's exit waits for the cycle in flight
/// (a restore is never abandoned half-way), sd-bus stays on one thread, and two cycles never run
/// at once. Besides the timer, a `ChangeWatcher` per target asks for a cycle of that target once
/// its files have changed and then stayed quiet for `quiet_period`.
public final class Daemon: @unchecked Sendable {
    private let configPath: String
    private var config: SitewardenConfig
    private let events: EventSink
    private let notifier = Notifier()
    private let heartbeat = Heartbeat()
    private let cycleQueue = DispatchQueue(label: "sitewarden.cycle")
    private let controlQueue = DispatchQueue(label: "sitewarden.control")
    private let watchQueue = DispatchQueue(label: "sitewarden.watch")
    /// Targets whose files changed and went quiet, waiting for their cycle; a target asked for
    /// again before its cycle starts is checked once.
    private let triggered = Mutex<Set<String>>([])
    /// One per target, by name; touched on the cycle queue only.
    private var watchers: [String: ChangeWatcher] = [:]
    private var monitors: [TargetMonitor] = []
    private var services: SystemdServiceManager?
    private var cycleTimer: DispatchSourceTimer?
    private var startupTimer: DispatchSourceTimer?
    private var watchdogTimer: DispatchSourceTimer?
    private var signalSources: [DispatchSourceSignal] = []
    private var cycles = 0
    /// The metrics file could not be written and that was journaled; said again only after a
    /// write succeeded.
    private var metricsFailureReported = false

    public init(config: SitewardenConfig, configPath: String, events: EventSink = JournalSink()) {
        self.config = config
        self.configPath = configPath
        self.events = events
    }

    /// Starts everything and returns; the caller parks the main thread in `dispatchMain()`.
    public func start() {
        installSignalHandlers()
        startWatchdog()
        startupTimer = startupExtender()
        cycleQueue.async { [self] in
            removeStagedLeftovers()
            monitors = makeMonitors(for: config)
            services = SystemdServiceManager()
            events.emit(
                Event(
                    .started, "sitewarden \(sitewardenVersion) watching \(config.targets.count) target(s)",
                    [("CONFIG", configPath), ("TARGETS", config.targets.map(\.name).joined(separator: " "))]))
            if let warning = ResolverCheck.warning(
                asynchronousDNS: CurlCapabilities.asynchronousDNS, curlVersion: CurlCapabilities.version,
                targets: config.targets)
            {
                events.emit(warning)
            }
            runCycle()
            startupTimer?.cancel()
            notifier.ready(status: statusLine())
            scheduleCycles()
            updateWatchers()
        }
    }

    /// While the first verification runs (READY=1 waits for it), asks systemd for more start-up
    /// time every few seconds, so a large venv is not killed by TimeoutStartSec= half-way.
    private func startupExtender() -> DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: controlQueue)
        timer.schedule(deadline: .now() + Self.startupExtensionPeriod, repeating: Self.startupExtensionPeriod)
        timer.setEventHandler { [notifier] in notifier.extendTimeout(by: .seconds(15)) }
        timer.resume()
        return timer
    }

    static let startupExtensionPeriod: DispatchTimeInterval = .seconds(5)

    /// Test hook: `SITEWARDEN_TEST_HANG_AFTER_CYCLES=N` makes every cycle after the N-th block
    /// forever, as a cycle stuck in the kernel would (Tests/e2e/systemd-behaviour.sh).
    static let testHangAfterCycles: Int? = getenv("SITEWARDEN_TEST_HANG_AFTER_CYCLES").flatMap {
        Int(String(cString: $0))
    }

    private func makeMonitors(for config: SitewardenConfig) -> [TargetMonitor] {
        // Made before the scanners are: each decides once whether it can keep a scan cache there,
        // and one that finds no directory never keeps one (systemd's StateDirectory= makes it for
        // the unit; a state_directory elsewhere, or a reload naming a new one, may not exist yet).
        // A directory that cannot be made is not fatal: the daemon verifies without a cache.
        try? makeDirectories(config.daemon.stateDirectory)
        ScanCache.removeInterruptedWrites(stateDirectory: config.daemon.stateDirectory)
        return config.targets.map { target in
            let monitor =
                monitors.first { $0.target == target }
                ?? TargetMonitor(target: target, events: events, heartbeat: { [heartbeat] in heartbeat.beat() })
            // A reload may change the workers or the rehash period of a target that stays.
            monitor.scanner = FileScanner.configured(config.daemon, target: target.name)
            monitor.quarantine = Quarantine(
                stateDirectory: config.daemon.stateDirectory, target: target.name, limit: config.daemon.quarantineLimit)
            let name = target.name
            monitor.onRestoreStarted = { [weak self] in self?.publish() }
            monitor.changedRecently = { [weak self] in self?.watchers[name]?.changedWithinQuietPeriod() ?? false }
            return monitor
        }
    }

    /// A restore interrupted by a crash or `kill -9` left staged copies beside their targets:
    /// remove them before the first verification, which then sees each file old or new.
    private func removeStagedLeftovers() {
        for target in config.targets {
            let removed = StagedLeftovers.remove(for: target)
            guard !removed.isEmpty else { continue }
            events.emit(
                Event(
                    .stagedRemoved,
                    "\(target.name): removed \(removed.count) staged file(s) of an interrupted restore; verifying again",
                    [("TARGET", target.name), ("FILES", removed.joined(separator: " "))]))
        }
    }

    private func scheduleCycles() {
        cycleTimer?.cancel()
        let timer = DispatchSource.makeTimerSource(queue: cycleQueue)
        let interval = DispatchTimeInterval.nanoseconds(Int(config.daemon.interval.wholeNanoseconds))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(100))
        timer.setEventHandler { [weak self] in self?.runCycle() }
        timer.resume()
        cycleTimer = timer
    }

    /// Checks every target, or only those named in `only`; on the cycle queue.
    private func runCycle(only names: Set<String>? = nil) {
        heartbeat.cycleStarted()
        defer { heartbeat.cycleEnded() }
        if let hangAfter = Self.testHangAfterCycles, cycles >= hangAfter {
            // Test hook: a wedged cycle, to prove the watchdog restarts the daemon.
            while true { pause() }
        }
        for monitor in monitors where names?.contains(monitor.target.name) ?? true {
            _ = monitor.runCycle(repair: true, services: services)
            // A reinstall may have added directories (a new subpackage, a new dist-info).
            watchers[monitor.target.name]?.watch(WatchRoots.of(monitor.target))
        }
        cycles += 1
        notifier.status(statusLine())
        publish()
    }

    /// The status file for `sitewarden status` and, when configured, the metrics file; after every
    /// cycle and as a restore starts (so both show `restoring`). On the cycle queue.
    private func publish() {
        StatusFile(directory: config.daemon.stateDirectory).write(monitors: monitors, cycles: cycles)
        guard let path = config.daemon.metricsFile else { return }
        let text = MetricsFile.render(monitors.map { TargetStatus($0) }, cycles: cycles)
        do {
            try MetricsFile.write(text, to: path)
            metricsFailureReported = false
        } catch {
            guard !metricsFailureReported else { return }
            metricsFailureReported = true
            events.emit(
                Event(
                    .metricsUnwritable, "cannot write the metrics file \(path): \(error)",
                    [("PATH", path), ("REASON", error.callAndCause)]))
        }
    }

    /// Runs a cycle of `target` as soon as the cycle queue is free. Requests that arrive before it
    /// starts are folded into it, so a burst of triggers costs one cycle.
    func runCycleNow(target: String) {
        let alreadyQueued = triggered.withLock { pending in
            defer { pending.insert(target) }
            return !pending.isEmpty
        }
        guard !alreadyQueued else { return }
        cycleQueue.async { [self] in
            let names = triggered.withLock { pending in
                defer { pending.removeAll() }
                return pending
            }
            runCycle(only: names)
        }
    }

    // MARK: Change watchers

    /// One watcher per target, made anew when the quiet period changed; on the cycle queue.
    private func updateWatchers() {
        var kept = [String: ChangeWatcher]()
        for monitor in monitors {
            let name = monitor.target.name
            if let existing = watchers[name], existing.quietPeriod == config.daemon.quietPeriod {
                kept[name] = existing
            } else if let watcher = makeWatcher(for: name) {
                kept[name] = watcher
            }
            kept[name]?.watch(WatchRoots.of(monitor.target))
        }
        watchers = kept
    }

    private func makeWatcher(for target: String) -> ChangeWatcher? {
        let unavailable: @Sendable (String) -> Void = { [weak self] reason in
            guard let self else { return }
            cycleQueue.async {
                self.watchers[target] = nil
                self.events.emit(
                    Event(
                        .watchUnavailable, "\(target): not watching for changes: \(reason)",
                        [("TARGET", target), ("REASON", reason)]))
            }
        }
        do {
            return try ChangeWatcher(
                quietPeriod: config.daemon.quietPeriod, queue: watchQueue,
                onQuiet: { [weak self] in self?.runCycleNow(target: target) }, onUnavailable: unavailable)
        } catch {
            unavailable("\(error); changes are found by the interval timer only")
            return nil
        }
    }

    /// One short line for `systemctl status`: each target's health and what it rests on.
    func statusLine() -> String {
        monitors.map(\.statusLine).joined(separator: "; ")
    }

    // MARK: Watchdog

    private func startWatchdog() {
        guard let timeout = notifier.watchdogTimeout() else { return }
        let period = timeout / 2
        let timer = DispatchSource.makeTimerSource(queue: controlQueue)
        timer.schedule(
            deadline: .now(), repeating: .nanoseconds(Int(period.wholeNanoseconds)), leeway: .milliseconds(10))
        // Alive: ping. Silent for half the timeout: stop pinging. Silent for the whole timeout:
        // the cycle is stuck for certain, so ask systemd to act now (WATCHDOG=trigger) rather
        // than wait out its own timer.
        timer.setEventHandler { [heartbeat, notifier] in
            if heartbeat.isAlive(within: period) {
                notifier.watchdog()
            } else if !heartbeat.isAlive(within: timeout) {
                notifier.watchdogTrigger()
            }
        }
        timer.resume()
        watchdogTimer = timer
    }

    // MARK: Signals

    private func installSignalHandlers() {
        for (number, handler) in [(SIGTERM, stop), (SIGINT, stop), (SIGHUP, reload)] as [(Int32, () -> Void)] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: controlQueue)
            source.setEventHandler(handler: handler)
            source.resume()
            signalSources.append(source)
        }
    }

    /// STOPPING=1 at once; the exit itself waits behind the cycle in flight.
    private func stop() {
        notifier.stopping()
        cycleQueue.async { [self] in
            cycleTimer?.cancel()
            events.emit(Event(.stopping, "sitewarden stopping after \(cycles) cycle(s)", []))
            exit(0)
        }
    }

    /// Re-reads the config; a config that does not load is rejected and the old one stays.
    private func reload() {
        notifier.reloading()
        cycleQueue.async { [self] in
            do {
                let newConfig = try ConfigLoader.load(path: configPath)
                config = newConfig
                monitors = makeMonitors(for: newConfig)
                // A reload is the operator stepping in: flapping and ineffective repairs start over.
                for monitor in monitors { monitor.resetRepairGuard() }
                updateWatchers()
                events.emit(
                    Event(.configReloaded, "configuration reloaded from \(configPath)", [("CONFIG", configPath)]))
                scheduleCycles()
            } catch {
                events.emit(
                    Event(
                        .configRejected, "new configuration rejected, keeping the old one: \(error)",
                        [("CONFIG", configPath)]))
            }
            notifier.ready(status: statusLine())
        }
    }
}

extension Duration {
    /// Whole nanoseconds, saturating: Dispatch takes an Int, and no timer needs more than 292 years.
    var wholeNanoseconds: Int64 {
        let (scaled, overflow) = components.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : scaled.addingReportingOverflow(components.attoseconds / 1_000_000_000).partialValue
    }
}
