/// The service manager seam: restarting the watched unit.
///
/// `SystemdServiceManager` is the real one (sd-bus); the protocol exists because D-Bus is the
/// boundary between sitewarden and systemd, not for convenience.
public protocol ServiceManager: AnyObject {
    /// Restarts `unit` and waits for its job; the job result (`done`, `failed`, …) or why it could not run.
    func restart(unit: String) -> Result<String, ServiceManagerError>
    /// Why the unit's last start failed (`Result`: `exit-code`, `start-limit-hit`, …), when known.
    func serviceResult(unit: String) -> String?
    /// Clears the unit's failed state and start-limit counter; false when that could not be done.
    func resetFailed(unit: String) -> Bool
    /// When the unit last became active, on the CLOCK_MONOTONIC nanoseconds `CycleClock` counts,
    /// or nil when unknown: a restart by anyone starts the routes' start-up grace period.
    func activeSince(unit: String) -> UInt64?
}

extension ServiceManager {
    public func activeSince(unit: String) -> UInt64? { nil }
}

/// Why a restart could not be asked for or waited on.
public struct ServiceManagerError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
}
