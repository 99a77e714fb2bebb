/// What `sitewarden status` and the metrics call a target's state: its health, with two states
/// the health alone does not show — a restore in progress, and drift left alone because the
/// target is `mode = "observe"`.
public enum TargetState: String, Sendable, Codable, CaseIterable {
    case unknown
    case healthy
    case drifted
    case restoring
    case degraded
    case flapping
    case observeOnly = "observe-only"
    case probeFailing = "probe-failing"
    case notCovered = "not-covered"
    case versionChanged = "version-changed"

    /// `restoring` while a restore runs; `observe-only` for an observe target with something wrong
    /// that will not be repaired; otherwise the health.
    init(health: TargetHealth, mode: RepairMode, restoring: Bool) {
        if restoring {
            self = .restoring
            return
        }
        if mode == .observe, health == .drifted || health == .flapping {
            self = .observeOnly
            return
        }
        switch health {
        case .unknown: self = .unknown
        case .healthy: self = .healthy
        case .drifted: self = .drifted
        case .probeFailing: self = .probeFailing
        case .degraded: self = .degraded
        case .notCovered: self = .notCovered
        case .versionChanged: self = .versionChanged
        case .flapping: self = .flapping
        }
    }
}
