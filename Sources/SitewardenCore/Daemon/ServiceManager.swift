/// The service manager seam: restarting the watched unit.
///
/// `SystemdServiceManager` is the real one (sd-bus); the protocol exists because D-Bus is the
/// boundary between sitewarden and systemd, not for convenience.
public protocol ServiceManager: AnyObject {
    /// Restarts `unit` and waits for its job; the job result (`done`, `failed`, …) or why it could not run.
    func restart(unit: String) -> Result<String, ServiceManagerError>
}

/// Why a restart could not be asked for or waited on.
public struct ServiceManagerError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
}
