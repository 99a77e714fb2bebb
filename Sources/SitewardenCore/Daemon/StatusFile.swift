import FoundationEssentials
import Glibc

/// What the daemon last saw, written after every cycle for `sitewarden status`.
///
/// Written to a temporary name and renamed, so a reader never sees half a file.
public struct DaemonStatus: Codable, Sendable, Equatable {
    public var writtenAt: Int
    public var pid: Int32
    /// Check cycles the daemon has run since it started.
    public var cycles: Int = 0
    public var targets: [TargetStatus]

    public static let fileName = "status.json"
}

/// One target's line in the status file.
public struct TargetStatus: Codable, Sendable, Equatable {
    public var name: String
    public var health: TargetHealth
    public var version: String?
    public var filesChecked: Int
    public var drifts: [String]
    public var problem: String?
    public var probes: [String]
    /// `repair` or `observe`; absent in files written before modes existed.
    public var mode: String? = nil
    /// Why the target is not being repaired right now (observe only, flapping, deferred, …).
    public var note: String? = nil
    /// Each route's last probe and standing; absent in files written before route details existed.
    public var routes: [RouteStatus]? = nil
}

/// One route's last probe in the status file.
public struct RouteStatus: Codable, Sendable, Equatable {
    /// The URL, or `unix:/run/app.sock /api/info`.
    public var route: String
    public var method: String
    /// `passing`, `failing`, or `pending` (not failing often enough yet to count, or in the grace period).
    public var state: String
    /// `passed`, `unexpected-status`, `timeout`, … (ProbeVerdict names).
    public var verdict: String
    public var httpStatus: Int?
    public var latencyMs: Int
    /// The address connected to, or the configured one when no connection was made.
    public var address: String
    public var consecutiveFailures: Int
    /// The probe's one-line summary, with the reason when it failed.
    public var summary: String

    /// `GET http://…/api/info → 404 (expected 200) [failing, 3 ms, 127.0.0.1:8083]`.
    public var line: String {
        "\(summary) [\(state), \(latencyMs) ms, \(address)]"
    }
}

struct StatusFile {
    let directory: String

    func write(monitors: [TargetMonitor], cycles: Int = 0) {
        let status = DaemonStatus(
            writtenAt: Int(time(nil)), pid: getpid(), cycles: cycles,
            targets: monitors.map { monitor in
                TargetStatus(
                    name: monitor.target.name, health: monitor.health, version: monitor.lastReport?.version,
                    filesChecked: monitor.lastReport?.filesChecked ?? 0,
                    drifts: monitor.lastReport?.drifts.map(\.description) ?? [],
                    problem: monitor.lastReport.flatMap(\.problem), probes: monitor.lastProbes.map(\.summary),
                    mode: monitor.target.mode.rawValue, note: monitor.repairNote, routes: monitor.routeStatuses)
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let bytes = try? encoder.encode(status) else { return }
        let path = directory + "/" + DaemonStatus.fileName
        let temporary = path + ".tmp"
        do {
            try makeDirectories(directory)
            let file = try FileDescriptor.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o644)
            try file.writeAll(Array(bytes))
            try file.sync()
        } catch {
            // The status file is a convenience; the journal already has every event.
            return
        }
        rename(temporary, path)
    }

    func read() throws(SystemError) -> DaemonStatus? {
        let bytes = try readWholeFile(directory + "/" + DaemonStatus.fileName)
        return try? JSONDecoder().decode(DaemonStatus.self, from: Data(bytes))
    }
}
