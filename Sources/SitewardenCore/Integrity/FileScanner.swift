import Glibc
import Synchronization

/// How the last scan went: how many files were hashed and how many were taken from the cache.
struct ScanStatistics: Sendable, Equatable {
    var files = 0
    var hashed = 0
    var fromCache = 0
    var bytesHashed = 0
    /// True when no cached digest was trusted: no cache, a damaged one, or the periodic full rehash.
    var fullRehash = true
}

/// Observes many files at once: what is on disk at each path (digest, size, metadata).
///
/// The engine under verification. Files are hashed on `workers` threads (the calling thread is
/// one of them), each with its own SHA-256 context and fixed buffer, and results come back in
/// input order. With a cache, a file whose stamp (size, mtime, ctime, inode, device) is what it
/// was when last hashed keeps its digest without being read; every `fullRehashEvery`-th scan
/// hashes everything regardless, since a privileged writer can set mtime back. Each worker reads
/// through a `StallGuard`: a read that makes no progress for `readTimeout` (a hung NFS or FUSE
/// mount) is given up as `unreadable` for this scan, and that worker continues on a fresh thread.
public final class FileScanner {
    public let workers: Int
    let cache: ScanCache?
    let fullRehashEvery: Int
    /// A file changed this recently is not remembered: a second write within the same timestamp
    /// tick would leave its stamp as it is. Two seconds covers filesystems with coarse timestamps.
    var racyWindowNanoseconds: Int64 = 2_000_000_000
    private let lanes: [ScanLane]
    private(set) var lastScan = ScanStatistics()

    /// Test seam: passed to every hasher (runs between the last read and the second `fstat`).
    var afterHashing: ((Int32) -> Void)? {
        didSet { for lane in lanes { lane.afterHashing = afterHashing } }
    }

    /// A scanner that hashes every file every time.
    public convenience init(
        workers: Int = DaemonConfig.defaultWorkers, readTimeout: Duration = DaemonConfig.defaultReadTimeout
    ) {
        self.init(workers: workers, cache: nil, fullRehashEvery: 1, readTimeout: readTimeout)
    }

    init(
        workers: Int, cache: ScanCache?, fullRehashEvery: Int,
        readTimeout: Duration = DaemonConfig.defaultReadTimeout
    ) {
        precondition(workers >= 1 && fullRehashEvery >= 1, "FileScanner needs a worker and a rehash period")
        self.workers = workers
        self.cache = cache
        self.fullRehashEvery = fullRehashEvery
        self.lanes = (0..<workers).map { _ in ScanLane(readTimeout: readTimeout) }
    }

    /// A scanner that keeps `target`'s cache under the configured state directory, or none when
    /// that directory cannot be written (a one-shot command run by another user) or every scan is
    /// a full one anyway (`full_rehash_every = 1`).
    public static func configured(_ daemon: DaemonConfig, target: String, useCache: Bool = true) -> FileScanner {
        let cache =
            useCache && daemon.fullRehashEvery > 1 && ScanCache.isUsable(stateDirectory: daemon.stateDirectory)
            ? ScanCache(stateDirectory: daemon.stateDirectory, target: target) : nil
        return FileScanner(
            workers: daemon.workers, cache: cache, fullRehashEvery: daemon.fullRehashEvery,
            readTimeout: daemon.readTimeout)
    }

    /// The state of every path, in the order given. `progress` is called from the worker threads
    /// after every file and every 16 MiB hashed.
    func observe(_ paths: [String], progress: @escaping @Sendable () -> Void) -> [FileState] {
        let previous = cache?.load()
        let scansSinceFull = previous.map { $0.scansSinceFullRehash + 1 } ?? 0
        let full = previous == nil || scansSinceFull >= fullRehashEvery
        let job = ScanJob(
            paths: paths, trusted: full ? [:] : previous?.entries ?? [:], lanes: lanes, progress: progress)
        defer { job.release() }

        WorkerThreads.run(min(workers, max(paths.count, 1))) { worker in job.work(as: worker) }

        lastScan = job.statistics(fullRehash: full)
        if let cache {
            let fresh = realtimeNanoseconds() - racyWindowNanoseconds
            var entries = [String: ScanCache.Entry](minimumCapacity: paths.count)
            for (path, entry) in zip(paths, job.remembered)
            where entry.map({ $0.stamp.changedNanoseconds < fresh }) == true {
                entries[path] = entry
            }
            // A cache that cannot be written costs only speed: the next scan hashes everything.
            try? cache.store(ScanCache.Contents(scansSinceFullRehash: full ? 0 : scansSinceFull, entries: entries))
        }
        return job.states
    }

    private func realtimeNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

/// One scan shared by its worker threads. Each index is claimed by exactly one worker through
/// `next`, and each worker uses only its own hasher, so the slots need no lock; joining the
/// threads publishes them to the caller.
private final class ScanJob: @unchecked Sendable {
    let paths: [String]
    let trusted: [String: ScanCache.Entry]
    let lanes: [ScanLane]
    let progress: @Sendable () -> Void
    private let next = Atomic<Int>(0)
    private let stateSlots: UnsafeMutableBufferPointer<FileState>
    private let entrySlots: UnsafeMutableBufferPointer<ScanCache.Entry?>
    private let workerStatistics: UnsafeMutableBufferPointer<ScanStatistics>

    init(
        paths: [String], trusted: [String: ScanCache.Entry], lanes: [ScanLane],
        progress: @escaping @Sendable () -> Void
    ) {
        self.paths = paths
        self.trusted = trusted
        self.lanes = lanes
        self.progress = progress
        stateSlots = .allocate(capacity: paths.count)
        stateSlots.initialize(repeating: .missing)
        entrySlots = .allocate(capacity: paths.count)
        entrySlots.initialize(repeating: nil)
        workerStatistics = .allocate(capacity: lanes.count)
        workerStatistics.initialize(repeating: ScanStatistics())
    }

    func release() {
        stateSlots.deinitialize().deallocate()
        entrySlots.deinitialize().deallocate()
        workerStatistics.deinitialize().deallocate()
    }

    func work(as worker: Int) {
        let lane = lanes[worker]
        var statistics = ScanStatistics()
        while true {
            let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
            guard index < paths.count else { break }
            let path = paths[index]
            if let entry = trusted[path], let facts = unchanged(path, entry) {
                stateSlots[index] = .present(facts)
                entrySlots[index] = entry
                statistics.fromCache += 1
            } else {
                let (state, stamp) = lane.observe(path, progress: progress)
                stateSlots[index] = state
                if case .present(let facts) = state, let stamp {
                    entrySlots[index] = ScanCache.Entry(stamp: stamp, digest: facts.sha256)
                    statistics.bytesHashed += facts.size
                }
                statistics.hashed += 1
            }
            progress()
        }
        workerStatistics[worker] = statistics
    }

    /// The remembered facts when `path` is still the regular file it was when hashed.
    private func unchanged(_ path: String, _ entry: ScanCache.Entry) -> FileFacts? {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG, FileStamp(info) == entry.stamp else {
            return nil
        }
        return FileFacts(
            sha256: entry.digest, size: Int(info.st_size), mode: info.st_mode & 0o7777, owner: info.st_uid,
            group: info.st_gid)
    }

    var states: [FileState] { Array(stateSlots) }
    var remembered: [ScanCache.Entry?] { Array(entrySlots) }

    func statistics(fullRehash: Bool) -> ScanStatistics {
        var total = ScanStatistics(files: paths.count, fullRehash: fullRehash)
        for worker in workerStatistics {
            total.hashed += worker.hashed
            total.fromCache += worker.fromCache
            total.bytesHashed += worker.bytesHashed
        }
        return total
    }
}

/// Runs a body on several POSIX threads at once and waits for all of them.
enum WorkerThreads {
    /// Runs `body(worker)` for `worker` in `0..<count`, worker 0 on the calling thread. A thread
    /// that cannot be created leaves its share to the others (work is pulled, not assigned).
    static func run(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        var threads = [pthread_t]()
        for worker in 1..<max(count, 1) {
            let context = Unmanaged.passRetained(Work { body(worker) }).toOpaque()
            var thread = pthread_t()
            let started = pthread_create(
                &thread, nil,
                { context in
                    Unmanaged<Work>.fromOpaque(context!).takeRetainedValue().body()
                    return nil
                }, context)
            if started == 0 {
                threads.append(thread)
            } else {
                Unmanaged<Work>.fromOpaque(context).release()
            }
        }
        body(0)
        for thread in threads { pthread_join(thread, nil) }
    }

    private final class Work: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}

/// One worker's tools: a hasher, and the guard that gives up on a read that stalls.
///
/// A stalled read keeps its thread and its hasher forever; the lane continues with new ones.
final class ScanLane: @unchecked Sendable {
    private var hasher = FileHasher()
    private let stallGuard: StallGuard
    var afterHashing: ((Int32) -> Void)? {
        didSet { hasher.afterHashing = afterHashing }
    }

    init(readTimeout: Duration) {
        stallGuard = StallGuard(deadline: readTimeout)
    }

    func observe(_ path: String, progress: @escaping @Sendable () -> Void) -> (FileState, FileStamp?) {
        let hasher = self.hasher
        let result = stallGuard.run(waiting: progress) { advanced in hasher.observe(path, progress: advanced) }
        guard let result else {
            self.hasher = FileHasher()
            self.hasher.afterHashing = afterHashing
            return (.unreadable(StallGuard.timedOut(path, after: stallGuard.deadline)), nil)
        }
        return (result.state, result.stamp)
    }
}
