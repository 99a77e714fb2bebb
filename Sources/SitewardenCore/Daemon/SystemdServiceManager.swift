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
            return .success(try connected().restart(unit: unit, timeout: jobTimeout).rawValue)
        } catch {
            // A broken bus connection is not reused; the next restart connects afresh.
            controller = nil
            return .failure(ServiceManagerError(description: "\(error)"))
        }
    }

    public func serviceResult(unit: String) -> String? {
        try? connected().serviceResult(unit: unit)
    }

    public func activeSince(unit: String) -> UInt64? {
        guard let microseconds = try? connected().activeEnteredMonotonic(unit: unit), microseconds > 0 else {
            return nil
        }
        return microseconds.multipliedReportingOverflow(by: 1000).partialValue
    }

    public func resetFailed(unit: String) -> Bool {
        (try? connected().resetFailed(unit: unit)) != nil
    }

    /// The open connection, or a new one; a broken one is dropped so the next call reconnects.
    private func connected() throws(UnitControlError) -> UnitController {
        if let controller { return controller }
        let controller = try UnitController()
        self.controller = controller
        return controller
    }
}
