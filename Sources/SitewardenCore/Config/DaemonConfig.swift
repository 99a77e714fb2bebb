/// Settings of the daemon itself: the `[daemon]` table.
public struct DaemonConfig: Sendable, Equatable {
    public static let defaultInterval: Duration = .seconds(30)
    public static let defaultStateDirectory = "/var/lib/sitewarden"
    public static let defaultWorkers = 2
    public static let workersRange = 1...64
    public static let defaultFullRehashEvery = 10
    public static let fullRehashEveryRange = 1...1_000_000

    /// Time between two verification cycles.
    public var interval: Duration
    /// Where sitewarden keeps its baselines and state; an absolute path.
    public var stateDirectory: String
    /// Threads hashing files at once during a verification.
    public var workers: Int
    /// Every this many verifications of a target, every file is hashed whatever the scan cache
    /// says; 1 turns the cache off.
    public var fullRehashEvery: Int

    public init(
        interval: Duration = defaultInterval, stateDirectory: String = defaultStateDirectory,
        workers: Int = defaultWorkers, fullRehashEvery: Int = defaultFullRehashEvery
    ) {
        self.interval = interval
        self.stateDirectory = stateDirectory
        self.workers = workers
        self.fullRehashEvery = fullRehashEvery
    }
}
