import Dispatch
import Glibc

/// The long-running service: a Dispatch timer drives check cycles over every target,
/// the watchdog pings from the cycle's progress, and signals stop or reload it.
///
/// All cycle work runs on one serial queue, so a SIGTERM's exit waits for the cycle in flight
/// (a restore is never abandoned half-way) and sd-bus stays on one thread.
public final class Daemon: @unchecked Sendable {
    private let configPath: String
    private var config: SitewardenConfig
    private let events: EventSink
    private let notifier = Notifier()
    private let heartbeat = Heartbeat()
    private let cycleQueue = DispatchQueue(label: "sitewarden.cycle")
    private let controlQueue = DispatchQueue(label: "sitewarden.control")
    private var monitors: [TargetMonitor] = []
    private var services: SystemdServiceManager?
    private var cycleTimer: DispatchSourceTimer?
    private var watchdogTimer: DispatchSourceTimer?
    private var signalSources: [DispatchSourceSignal] = []
    private var cycles = 0

    public init(config: SitewardenConfig, configPath: String, events: EventSink = JournalSink()) {
        self.config = config
        self.configPath = configPath
        self.events = events
    }

    /// Starts everything and returns; the caller parks the main thread in `dispatchMain()`.
    public func start() {
        installSignalHandlers()
        startWatchdog()
        cycleQueue.async { [self] in
            monitors = makeMonitors(for: config)
            services = SystemdServiceManager()
            events.emit(
                Event(
                    .started, "sitewarden \(sitewardenVersion) watching \(config.targets.count) target(s)",
                    [("CONFIG", configPath), ("TARGETS", config.targets.map(\.name).joined(separator: " "))]))
            runCycle()
            notifier.ready(status: statusLine())
            scheduleCycles()
        }
    }

    private func makeMonitors(for config: SitewardenConfig) -> [TargetMonitor] {
        config.targets.map { target in
            let monitor =
                monitors.first { $0.target == target }
                ?? TargetMonitor(target: target, events: events, heartbeat: { [heartbeat] in heartbeat.beat() })
            // A reload may change the workers or the rehash period of a target that stays.
            monitor.scanner = FileScanner.configured(config.daemon, target: target.name)
            return monitor
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

    private func runCycle() {
        heartbeat.cycleStarted()
        defer { heartbeat.cycleEnded() }
        for monitor in monitors {
            _ = monitor.runCycle(repair: true, services: services)
        }
        cycles += 1
        notifier.status(statusLine())
        StatusFile(directory: config.daemon.stateDirectory).write(monitors: monitors)
    }

    /// One short line for `systemctl status`: each target's health and what it rests on.
    private func statusLine() -> String {
        monitors.map { monitor in
            let files = monitor.lastReport.map { "\($0.filesChecked) files" } ?? "not verified"
            let routes =
                monitor.lastProbes.isEmpty
                ? "" : ", \(monitor.lastProbes.filter(\.passed).count)/\(monitor.lastProbes.count) routes ok"
            return "\(monitor.target.name): \(monitor.health.rawValue) (\(files)\(routes))"
        }.joined(separator: "; ")
    }

    // MARK: Watchdog

    private func startWatchdog() {
        guard let timeout = notifier.watchdogTimeout() else { return }
        let period = timeout / 2
        let timer = DispatchSource.makeTimerSource(queue: controlQueue)
        timer.schedule(
            deadline: .now(), repeating: .nanoseconds(Int(period.wholeNanoseconds)), leeway: .milliseconds(10))
        timer.setEventHandler { [heartbeat, notifier] in
            if heartbeat.isAlive(within: period) { notifier.watchdog() }
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
