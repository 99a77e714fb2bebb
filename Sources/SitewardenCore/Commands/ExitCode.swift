/// Exit codes of the one-shot commands, documented in the README.
public enum ExitCode: Int32, Sendable {
    /// Every target verified clean and every route answered as expected.
    case healthy = 0
    /// At least one file differs from RECORD or the baseline.
    case drift = 1
    /// Files are intact but at least one route failed.
    case probeFailure = 2
    /// A target could not be verified (no venv, no RECORD and no baseline, damaged backup),
    /// or a baseline or restore could not be done.
    case cannotVerify = 3
    /// Another version than the known-good one is installed; its files match its own RECORD.
    case versionChanged = 4
    /// The command line is wrong (EX_USAGE).
    case usage = 64
    /// The configuration is invalid (EX_CONFIG); the unit does not restart on it.
    case config = 78
}
