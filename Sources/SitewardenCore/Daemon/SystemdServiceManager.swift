/// Restarts units through systemd's D-Bus API, connecting on first use and again after errors.
public final class SystemdServiceManager: ServiceManager {
    private var controller: UnitController?
    /// How long to wait for the restart job; `TimeoutStartSec` of most units is shorter.
    private let jobTimeout: Duration

    public init(jobTimeout: Duration = .seconds(90)) {
        self.jobTimeout = jobTimeout
    }

    public func restart(unit: String) -> Result<String, ServiceManagerError> {
        do {
            let controller = try self.controller ?? UnitController()
            self.controller = controller
            return .success(try controller.restart(unit: unit, timeout: jobTimeout).rawValue)
        } catch {
            // A broken bus connection is not reused; the next restart connects afresh.
            controller = nil
            return .failure(ServiceManagerError(description: "\(error)"))
        }
    }
}
