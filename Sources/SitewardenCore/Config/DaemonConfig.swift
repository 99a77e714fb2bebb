/// Settings of the daemon itself: the `[daemon]` table.
public struct DaemonConfig: Sendable, Equatable {
    public static let defaultInterval: Duration = .seconds(30)
    /// A cycle every millisecond only keeps a core busy (68% CPU at "1ms"); 10ms is the shortest
    /// any use needs (bench/idle-bench.sh runs thousands of cycles to watch memory).
    static let minimumInterval: (Duration, text: String, why: String) = (
        .milliseconds(10), "10ms", "a shorter interval only keeps the daemon busy"
    )
    public static let defaultStateDirectory = "/var/lib/sitewarden"
    public static let defaultQuietPeriod: Duration = .seconds(2)
    public static let defaultReadTimeout: Duration = .seconds(30)
    public static let defaultWorkers = 2
    public static let workersRange = 1...64
    public static let defaultFullRehashEvery = 10
    public static let fullRehashEveryRange = 1...1_000_000
    public static let defaultQuarantineLimit = 100_000_000

    /// Time between two verification cycles.
    public var interval: Duration
    /// Where sitewarden keeps its baselines and state; an absolute path.
    public var stateDirectory: String
    /// How long a watched package directory must stay unchanged after a change before it is checked:
    /// an install rewriting many files is waited out instead of being checked half-way.
    public var quietPeriod: Duration
    /// How long reading one file may take before it is given up as unverifiable this cycle: a read
    /// from a hung network or FUSE mount never returns, and must not hold up the cycle.
    public var readTimeout: Duration
    /// Threads hashing files at once during a verification.
    public var workers: Int
    /// Every this many verifications of a target, every file is hashed whatever the scan cache
    /// says; 1 turns the cache off.
    public var fullRehashEvery: Int
    /// `quarantine_limit`: the most bytes `<state_directory>/quarantine` keeps of replaced files;
    /// the oldest restores' copies are removed first.
    public var quarantineLimit: Int
    /// `metrics_file`: where to write Prometheus metrics after every cycle (a `.prom` file in
    /// node_exporter's textfile collector directory), or nil to write none.
    public var metricsFile: String?

    public init(
        interval: Duration = defaultInterval, stateDirectory: String = defaultStateDirectory,
        quietPeriod: Duration = defaultQuietPeriod, readTimeout: Duration = defaultReadTimeout,
        workers: Int = defaultWorkers, fullRehashEvery: Int = defaultFullRehashEvery,
        quarantineLimit: Int = defaultQuarantineLimit, metricsFile: String? = nil
    ) {
        self.interval = interval
        self.stateDirectory = stateDirectory
        self.quietPeriod = quietPeriod
        self.readTimeout = readTimeout
        self.workers = workers
        self.fullRehashEvery = fullRehashEvery
        self.quarantineLimit = quarantineLimit
        self.metricsFile = metricsFile
    }
}
