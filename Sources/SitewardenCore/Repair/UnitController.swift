import CSystemd
import Glibc

/// Restarts systemd units and reads their state over D-Bus, the way `systemctl restart` does.
///
/// Not thread-safe: keep a controller, like every sd-bus object, on one thread or serial queue.
/// A connection that breaks (systemd re-executing closes its private socket) is not reopened:
/// after an error whose cause is an errno such as `ECONNRESET`, make a new controller.
public final class UnitController {
    /// systemd's own socket, served by PID 1 itself; only root may connect to it.
    static let privateAddress = "unix:path=/run/systemd/private"

    private static let manager = BusObject(
        destination: "org.freedesktop.systemd1",
        path: "/org/freedesktop/systemd1",
        interface: "org.freedesktop.systemd1.Manager"
    )

    /// The bound on calls that have no caller-given deadline (`activeState`).
    private static let callTimeout = Duration.seconds(10)

    private let bus: SystemBus
    private var subscribed = false

    /// Connects to the system bus or, as root when that fails, to systemd's private socket.
    public convenience init() throws(UnitControlError) {
        self.init(bus: try Self.connectToSystemd())
    }

    /// Connects to one sd-bus address only, such as `unix:path=/run/systemd/private`.
    convenience init(address: String) throws(UnitControlError) {
        do throws(BusFailure) {
            self.init(bus: try SystemBus(address: address))
        } catch {
            throw UnitControlError(unit: nil, step: .connect(address: address), cause: error.cause)
        }
    }

    private init(bus: SystemBus) {
        self.bus = bus
    }

    /// Restarts `unit` (job mode `replace`) and waits for systemd's verdict on the job.
    ///
    /// `timeout` bounds the whole exchange. When it passes, the job may still be running in
    /// systemd; it is not cancelled.
    public func restart(unit: String, timeout: Duration) throws(UnitControlError) -> UnitJobResult {
        let deadline = Deadline(after: timeout)
        let watch = JobRemovedWatch()
        // The match goes in before the restart is requested, so the job's end cannot slip past.
        let slot = try perform(.subscribe, on: unit) { () throws(BusFailure) in
            try bus.matchSignal(
                sender: bus.isBusClient ? Self.manager.destination : nil,
                on: Self.manager,
                member: "JobRemoved",
                handler: JobRemovedWatch.handler,
                userdata: Unmanaged.passUnretained(watch).toOpaque()
            )
        }

        return try withExtendedLifetime((watch, slot)) { () throws(UnitControlError) -> UnitJobResult in
            try subscribe(for: unit, deadline: deadline)
            let job = try perform(.restartUnit, on: unit) { () throws(BusFailure) in
                try bus.call(
                    "RestartUnit",
                    on: Self.manager,
                    arguments: [unit, "replace"],
                    timeout: try deadline.remaining()
                ) { reply throws(BusFailure) in try reply.readString(BusType.objectPath) }
            }
            return try waitForJob(job, of: unit, watch: watch, deadline: deadline)
        }
    }

    /// The unit's `ActiveState`: `active`, `inactive`, `failed`, `activating`, …
    public func activeState(unit: String) throws(UnitControlError) -> String {
        try stringProperty("ActiveState", of: unit, interface: "org.freedesktop.systemd1.Unit")
    }

    /// When the unit last became active, in CLOCK_MONOTONIC microseconds
    /// (`ActiveEnterTimestampMonotonic`); 0 when it never was.
    public func activeEnteredMonotonic(unit: String) throws(UnitControlError) -> UInt64 {
        let path = try unitObjectPath(unit)
        let properties = BusObject(
            destination: Self.manager.destination, path: path, interface: "org.freedesktop.DBus.Properties")
        let name = "ActiveEnterTimestampMonotonic"
        return try perform(.readProperty(name), on: unit) { () throws(BusFailure) in
            try bus.call(
                "Get", on: properties, arguments: ["org.freedesktop.systemd1.Unit", name], timeout: Self.callTimeout
            ) { reply throws(BusFailure) in
                try reply.enterVariant(holding: "t")
                return try reply.readUInt64()
            }
        }
    }

    /// A service's `Result`: `success`, `exit-code`, `start-limit-hit`, … It says why a restart job
    /// ended `failed`: a unit that hit its start limit needs other handling than one that crashed.
    public func serviceResult(unit: String) throws(UnitControlError) -> String {
        try stringProperty("Result", of: unit, interface: "org.freedesktop.systemd1.Service")
    }

    /// Clears the unit's failed state and its start-limit counter, as `systemctl reset-failed` does.
    public func resetFailed(unit: String) throws(UnitControlError) {
        try perform(.resetFailedUnit, on: unit) { () throws(BusFailure) in
            try bus.call("ResetFailedUnit", on: Self.manager, arguments: [unit], timeout: Self.callTimeout) {
                _ throws(BusFailure) in
            }
        }
    }

    private func stringProperty(
        _ name: String, of unit: String, interface: String
    ) throws(UnitControlError) -> String {
        let path = try unitObjectPath(unit)
        let properties = BusObject(
            destination: Self.manager.destination,
            path: path,
            interface: "org.freedesktop.DBus.Properties"
        )
        return try perform(.readProperty(name), on: unit) { () throws(BusFailure) in
            try bus.call("Get", on: properties, arguments: [interface, name], timeout: Self.callTimeout) {
                reply throws(BusFailure) in
                try reply.enterVariant(holding: "s")
                return try reply.readString(BusType.string)
            }
        }
    }

    private static func connectToSystemd() throws(UnitControlError) -> SystemBus {
        let systemBusFailure: BusFailure
        do throws(BusFailure) {
            return try SystemBus(address: nil)
        } catch {
            systemBusFailure = error
        }

        // systemctl falls back the same way; the private socket answers even without dbus-daemon.
        guard geteuid() == 0 else {
            throw UnitControlError(unit: nil, step: .connect(address: "the system bus"), cause: systemBusFailure.cause)
        }
        do throws(BusFailure) {
            return try SystemBus(address: privateAddress)
        } catch {
            throw UnitControlError(
                unit: nil,
                step: .connect(address: privateAddress),
                cause: error.cause,
                earlierFailure: "the system bus failed: \(systemBusFailure.cause)"
            )
        }
    }

    /// Asks systemd to send job signals to this connection. Direct connections are subscribed
    /// from the start, and a second `Subscribe` on the system bus is refused, so once is enough.
    private func subscribe(for unit: String, deadline: Deadline) throws(UnitControlError) {
        guard !subscribed else { return }
        try perform(.subscribe, on: unit) { () throws(BusFailure) in
            do throws(BusFailure) {
                try bus.call(
                    "Subscribe",
                    on: Self.manager,
                    arguments: [],
                    timeout: try deadline.remaining()
                ) { _ throws(BusFailure) in }
            } catch {
                guard error.cause.isBusError(named: "org.freedesktop.systemd1.AlreadySubscribed") else { throw error }
            }
        }
        subscribed = true
    }

    private func waitForJob(
        _ job: String,
        of unit: String,
        watch: JobRemovedWatch,
        deadline: Deadline
    ) throws(UnitControlError) -> UnitJobResult {
        try perform(.waitForJob(path: job), on: unit) { () throws(BusFailure) -> UnitJobResult in
            while true {
                if let result = watch.results[job] {
                    guard let mapped = UnitJobResult(rawValue: result) else {
                        throw BusFailure(.unexpectedReply("systemd reported the unknown job result \"\(result)\""))
                    }
                    return mapped
                }
                if try bus.process() {
                    continue
                }
                try bus.wait(upTo: try deadline.remaining())
            }
        }
    }

    /// The unit's object path; `LoadUnit` covers units systemd has not loaded (or garbage-collected).
    private func unitObjectPath(_ unit: String) throws(UnitControlError) -> String {
        do throws(UnitControlError) {
            return try perform(.getUnit, on: unit) { () throws(BusFailure) in
                try bus.call("GetUnit", on: Self.manager, arguments: [unit], timeout: Self.callTimeout) {
                    reply throws(BusFailure) in try reply.readString(BusType.objectPath)
                }
            }
        } catch {
            guard error.cause.isBusError(named: "org.freedesktop.systemd1.NoSuchUnit") else { throw error }
            return try perform(.loadUnit, on: unit) { () throws(BusFailure) in
                try bus.call("LoadUnit", on: Self.manager, arguments: [unit], timeout: Self.callTimeout) {
                    reply throws(BusFailure) in try reply.readString(BusType.objectPath)
                }
            }
        }
    }

    /// Runs one step, naming the unit and the step in whatever it throws.
    private func perform<Value>(
        _ step: UnitControlError.Step,
        on unit: String,
        _ body: () throws(BusFailure) -> Value
    ) throws(UnitControlError) -> Value {
        do throws(BusFailure) {
            return try body()
        } catch {
            throw UnitControlError(unit: unit, step: step, cause: error.cause)
        }
    }
}

/// The end of a caller's time budget, remembering the budget for the error that reports it spent.
private struct Deadline {
    let timeout: Duration
    let instant: ContinuousClock.Instant

    init(after timeout: Duration) {
        self.timeout = timeout
        instant = .now + timeout
    }

    /// Time left, or the failure that says the budget ran out.
    func remaining() throws(BusFailure) -> Duration {
        let left = ContinuousClock.now.duration(to: instant)
        guard left > .zero else { throw BusFailure(.deadlinePassed(timeout)) }
        return left
    }
}

/// The results of the `JobRemoved` signals seen while one restart waits, keyed by job path.
///
/// sd-bus calls `handler` from inside `process()` on the controller's thread, with an unretained
/// pointer to this object as userdata; the restart keeps it alive as long as its match slot.
private final class JobRemovedWatch {
    var results: [String: String] = [:]

    /// Records one `JobRemoved(u id, o job, s unit, s result)`; returns 0 so other handlers see it too.
    static let handler: sd_bus_message_handler_t = { message, userdata, _ in
        guard let message, let userdata else { return 0 }
        let watch = Unmanaged<JobRemovedWatch>.fromOpaque(userdata).takeUnretainedValue()
        let signal = BusMessage(message)
        do throws(BusFailure) {
            _ = try signal.readUInt32()
            let job = try signal.readString(BusType.objectPath)
            _ = try signal.readString(BusType.string)
            watch.results[job] = try signal.readString(BusType.string)
        } catch {
            // A malformed signal cannot be ours; the wait's deadline still bounds the restart.
        }
        return 0
    }
}

extension UnitControlError.Cause {
    fileprivate func isBusError(named expected: String) -> Bool {
        if case .busError(let name, _) = self { return name == expected }
        return false
    }
}
