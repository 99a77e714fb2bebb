import Synchronization

@testable import SitewardenCore

/// Keeps every event emitted, for assertions on what the daemon reports.
final class RecordingSink: EventSink {
    private let recorded = Mutex<[Event]>([])

    func emit(_ event: Event) {
        recorded.withLock { $0.append(event) }
    }

    var events: [Event] { recorded.withLock { $0 } }

    /// The kinds in order, without the routine debug entries.
    var kinds: [EventKind] { events.map(\.kind).filter { $0 != .checkCompleted } }

    func first(_ kind: EventKind) -> Event? { events.first { $0.kind == kind } }

    func all(_ kind: EventKind) -> [Event] { events.filter { $0.kind == kind } }
}

/// A service manager at the D-Bus seam: counts restarts and runs `onRestart`, the way a real
/// restart makes the service load the files on disk again.
final class ScriptedServiceManager: ServiceManager {
    private(set) var restarted: [String] = []
    var result: Result<String, ServiceManagerError>
    private let onRestart: () -> Void

    init(result: Result<String, ServiceManagerError> = .success("done"), onRestart: @escaping () -> Void = {}) {
        self.result = result
        self.onRestart = onRestart
    }

    func restart(unit: String) -> Result<String, ServiceManagerError> {
        restarted.append(unit)
        onRestart()
        return result
    }

    /// What `serviceResult` answers, e.g. `start-limit-hit` after a refused start.
    var lastServiceResult: String?
    private(set) var resets: [String] = []

    func serviceResult(unit: String) -> String? { lastServiceResult }

    func resetFailed(unit: String) -> Bool {
        resets.append(unit)
        return true
    }
}
