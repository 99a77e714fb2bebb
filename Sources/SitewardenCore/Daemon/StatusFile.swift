import FoundationEssentials
import Glibc

/// What the daemon last saw, written after every cycle for `sitewarden status`.
///
/// Written to a temporary name and renamed, so a reader never sees half a file. The keys are
/// snake_case and documented in docs/JSON.md (`status.schema.json`).
public struct DaemonStatus: Codable, Sendable, Equatable {
    public var writtenAt: Int
    public var pid: Int32
    /// Check cycles the daemon has run since it started.
    public var cycles: Int = 0
    public var targets: [TargetStatus]

    public static let fileName = "status.json"
}

/// One target as the status file, `status --json` and `check --json` give it.
public struct TargetStatus: Codable, Sendable, Equatable {
    public var name: String
    /// healthy, drifted, restoring, degraded, flapping, observe-only, probe-failing, not-covered,
    /// version-changed or unknown.
    public var state: TargetState = .unknown
    public var health: TargetHealth
    public var version: String?
    public var filesChecked: Int
    public var drifts: [DriftStatus]
    public var problem: String?
    public var warnings: [String] = []
    public var probes: [ProbeStatus]
    /// `repair` or `observe`.
    public var mode: String? = nil
    /// Why the target is not being repaired right now (observe only, flapping, deferred, …).
    public var note: String? = nil
    /// When the last verification started (Unix seconds) and how long it took.
    public var lastCheckAt: Int? = nil
    public var lastCheckDurationMs: Int64? = nil
    /// When a verification last found drift, and when files were last restored (Unix seconds).
    public var lastDriftAt: Int? = nil
    public var lastRestoreAt: Int? = nil
    /// Restores since the daemon started.
    public var restores: Int = 0
}

extension TargetStatus {
    /// What `monitor` last saw.
    init(_ monitor: TargetMonitor, health: TargetHealth? = nil) {
        let health = health ?? monitor.health
        self.init(
            name: monitor.target.name,
            state: TargetState(health: health, mode: monitor.target.mode, restoring: monitor.restoring),
            health: health, version: monitor.lastReport?.version, filesChecked: monitor.lastReport?.filesChecked ?? 0,
            drifts: monitor.lastReport?.drifts.map(DriftStatus.init) ?? [],
            problem: monitor.lastReport.flatMap(\.problem), warnings: monitor.lastReport?.warnings ?? [],
            probes: monitor.probeStatuses, mode: monitor.target.mode.rawValue,
            note: monitor.repairNote, lastCheckAt: monitor.lastCheckAt,
            lastCheckDurationMs: monitor.lastCheckDuration?.wholeMilliseconds, lastDriftAt: monitor.lastDriftAt,
            lastRestoreAt: monitor.lastRestoreAt, restores: monitor.restores)
    }
}

/// The status file in the state directory: written by the daemon, read by `sitewarden status`.
struct StatusFile {
    let directory: String

    /// The encoder of every JSON document sitewarden writes: snake_case keys, sorted, indented.
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }

    func write(monitors: [TargetMonitor], cycles: Int = 0) {
        let status = DaemonStatus(
            writtenAt: Int(time(nil)), pid: getpid(), cycles: cycles, targets: monitors.map { TargetStatus($0) })
        guard let bytes = try? Self.encoder().encode(status) else { return }
        do {
            try makeDirectories(directory)
            try AtomicFile.write(Array(bytes) + [0x0A], to: directory + "/" + DaemonStatus.fileName, mode: 0o644)
        } catch {
            // The status file is a convenience; the journal already has every event.
            return
        }
    }

    func read() throws(SystemError) -> DaemonStatus? {
        let bytes = try readWholeFile(directory + "/" + DaemonStatus.fileName)
        return try? Self.decoder().decode(DaemonStatus.self, from: Data(bytes))
    }
}
