/// Settings of the daemon itself: the `[daemon]` table.
public struct DaemonConfig: Sendable, Equatable {
    public static let defaultInterval: Duration = .seconds(30)
    public static let defaultStateDirectory = "/var/lib/sitewarden"

    /// Time between two verification cycles.
    public var interval: Duration
    /// Where sitewarden keeps its baselines and state; an absolute path.
    public var stateDirectory: String

    public init(interval: Duration = defaultInterval, stateDirectory: String = defaultStateDirectory) {
        self.interval = interval
        self.stateDirectory = stateDirectory
    }
}
