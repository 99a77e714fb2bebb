/// Everything sitewarden reads from its configuration file.
public struct SitewardenConfig: Sendable, Equatable {
    public var daemon: DaemonConfig
    public var targets: [TargetConfig]
    /// The file the configuration was read from, for messages.
    public var sourcePath: String

    public init(daemon: DaemonConfig = DaemonConfig(), targets: [TargetConfig], sourcePath: String) {
        self.daemon = daemon
        self.targets = targets
        self.sourcePath = sourcePath
    }
}
