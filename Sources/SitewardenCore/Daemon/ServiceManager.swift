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
}

/// Why a restart could not be asked for or waited on.
public struct ServiceManagerError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
}
