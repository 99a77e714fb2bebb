/// The health of one watched target, as the daemon's cycle sees it.
///
/// Transitions are spelled out in `TargetMonitor`; `status` and STATUS= print the name.
public enum TargetHealth: String, Sendable, Codable {
    /// Not verified yet.
    case unknown
    /// Files match the baseline and RECORD; every route answers as expected.
    case healthy
    /// Files differ from the known-good copy.
    case drifted
    /// Files are intact but a route does not answer as expected.
    case probeFailing = "probe-failing"
    /// Verification or repair cannot run: no venv, no usable RECORD or baseline, a damaged backup.
    case degraded
    /// What runs is not what RECORD covers (an editable install): never healthy.
    case notCovered = "not-covered"
    /// Another version than the known-good one is installed and matches its own RECORD: an
    /// upgrade nobody adopted yet (`sitewarden baseline --adopt`). Not damage, not healthy either.
    case versionChanged = "version-changed"
    /// Files were restored `max_restores` times within `restore_window` and drifted again:
    /// restores are paused (with a growing back-off) while verification and probes go on.
    case flapping
}
