/// One watched installation: a distribution in a venv, its backup and its service (a `[[target]]` table).
public struct TargetConfig: Sendable, Equatable {
    public static let defaultMaxRestores = 3
    public static let maxRestoresRange = 1...1000
    public static let defaultRestoreWindow: Duration = .seconds(600)

    /// Unique among targets; names the target in messages and state.
    public var name: String
    /// The venv's root directory; an absolute path.
    public var venv: String
    /// The installed distribution's name, as in its `.dist-info` directory.
    public var distribution: String
    /// The version that must be installed, or nil to accept the one found.
    public var version: String?
    /// Where known-good copies of the distribution's files are kept; an absolute path.
    public var backup: String
    /// The systemd service to restart after a restore, or nil to restart nothing.
    public var unit: String?
    /// HTTP checks of the running service.
    public var routes: [RouteConfig]
    /// `pin_version`: another installed version is drift, undone from the baseline.
    public var pinVersion: Bool
    /// `mode_mask`: the permission bits whose change is metadata drift.
    public var modeMask: UInt32
    /// `ignore`: globs of paths (as RECORD writes them) exempt from verification.
    public var ignore: [String]
    /// `mode`: repair drift (the default) or only report it.
    public var mode: RepairMode
    /// `max_restores` within `restore_window`: more, and the target is flapping.
    public var maxRestores: Int
    public var restoreWindow: Duration
    /// `quarantine_extras`: move extra importable files into the quarantine instead of reporting only.
    public var quarantineExtras: Bool
    /// `reset_start_limit`: after the unit hits its start limit, reset it once (ResetFailedUnit)
    /// when `restore_window` has passed, instead of waiting for an operator.
    public var resetStartLimit: Bool
    /// `startup_grace`: after sitewarden starts or restarts the unit, route failures within this
    /// long do not count towards `failure_threshold` (the service may still be starting).
    public var startupGrace: Duration

    public init(
        name: String,
        venv: String,
        distribution: String,
        version: String? = nil,
        backup: String,
        unit: String? = nil,
        routes: [RouteConfig] = [],
        pinVersion: Bool = false,
        modeMask: UInt32 = VerificationPolicy.defaultModeMask,
        ignore: [String] = [],
        mode: RepairMode = .repair,
        maxRestores: Int = defaultMaxRestores,
        restoreWindow: Duration = defaultRestoreWindow,
        quarantineExtras: Bool = false,
        resetStartLimit: Bool = false,
        startupGrace: Duration = .zero
    ) {
        self.name = name
        self.venv = venv
        self.distribution = distribution
        self.version = version
        self.backup = backup
        self.unit = unit
        self.routes = routes
        self.pinVersion = pinVersion
        self.modeMask = modeMask
        self.ignore = ignore
        self.mode = mode
        self.maxRestores = maxRestores
        self.restoreWindow = restoreWindow
        self.quarantineExtras = quarantineExtras
        self.resetStartLimit = resetStartLimit
        self.startupGrace = startupGrace
    }

    /// How strictly the target's files are judged.
    public var policy: VerificationPolicy {
        VerificationPolicy(pinVersion: pinVersion, modeMask: modeMask, ignore: ignore)
    }
}

/// What sitewarden does about a target's drift.
public enum RepairMode: String, Sendable, Equatable {
    /// Restore drifted files, restart the unit, confirm.
    case repair
    /// Report everything; restore nothing, restart nothing.
    case observe
}
