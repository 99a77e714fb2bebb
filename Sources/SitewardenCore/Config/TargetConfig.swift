/// One watched installation: a distribution in a venv, its backup and its service (a `[[target]]` table).
public struct TargetConfig: Sendable, Equatable {
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
        ignore: [String] = []
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
    }

    /// How strictly the target's files are judged.
    public var policy: VerificationPolicy {
        VerificationPolicy(pinVersion: pinVersion, modeMask: modeMask, ignore: ignore)
    }
}
