import Dispatch
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
    /// True when nothing was read: the last verification's report was reused (`VerificationSnapshot`).
    var reusedReport = false
}

/// Observes many files at once: what is on disk at each path (digest, size, metadata).
///
/// The engine under verification. Files are hashed on `workers` threads, each with its own SHA-256 context and fixed buffer, and results come back in
/// input order. With a cache, a file whose stamp (size, mtime, ctime, inode, device) is what it
/// was when last hashed keeps its digest without being read; every `fullRehashEvery`-th scan
/// hashes everything regardless, since a privileged writer can set mtime back. The calling thread
/// watches the workers: a read that makes no progress for `readTimeout` (a hung NFS or FUSE
/// mount) is given up as `unreadable` for this scan, and a fresh thread takes over the rest.
public final class FileScanner {
    public let workers: Int
    let cache: ScanCache?
    let fullRehashEvery: Int
    /// A file changed this recently is not remembered: a second write within the same timestamp
    /// tick would leave its stamp as it is. Two seconds covers filesystems with coarse timestamps.
    var racyWindowNanoseconds: Int64 = 2_000_000_000
    let readTimeout: Duration
    private(set) var lastScan = ScanStatistics()

    /// Set for one scan: trust no cached digest (a route just failed, so look at every byte).
    var forceFullRehash = false

    /// Test seam: passed to every hasher (runs between the last read and the second `fstat`).
    var afterHashing: ((Int32) -> Void)?

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
        self.readTimeout = readTimeout
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
        Array(observe(count: paths.count, path: { paths[$0] }, progress: progress))
    }

    /// `observe(_:progress:)` of `count` paths made one at a time by `path` (on the worker threads),
    /// so that a large distribution's absolute paths are never all held at once.
    func observe(
        count: Int, path: @escaping @Sendable (Int) -> String, progress: @escaping @Sendable () -> Void
    ) -> ScanStates {
        // The header says whether this scan is a full one; only a scan that trusts the cache reads
        // its entries, in the order of the paths.
        let scansBefore = cache?.scansSinceFullRehash()
        let scansSinceFull = scansBefore.map { $0 + 1 } ?? 0
        var trusted: ScanCache.Lookup?
        if !forceFullRehash, let cache, scansSinceFull < fullRehashEvery {
            trusted = cache.lookup()
        }
        // No cache, a damaged one, or the periodic full rehash.
        let full = trusted == nil
        forceFullRehash = false
        // The new cache is written as files are done. A file whose ctime is within the racy window
        // of the scan's start is not remembered: one more write in the same timestamp tick would
        // leave its stamp as it is. The start is the earliest any file can have been hashed.
        // A cache that cannot be written costs only speed: the next scan hashes everything.
        let writer = cache.flatMap { try? ScanCache.Writer($0, scansSinceFullRehash: full ? 0 : scansSinceFull) }
        let job = ScanJob(
            count: count, path: path, trusted: trusted,
            writing: writer.map { ($0, realtimeNanoseconds() - racyWindowNanoseconds) },
            readTimeout: readTimeout, afterHashing: afterHashing, progress: progress)
        job.run(workers: min(workers, max(count, 1)))

        lastScan = job.statistics(fullRehash: full)
        if let writer, job.wroteEveryEntry { try? writer.commit() }
        return ScanStates(job: job)
    }

    /// The report of an earlier verification under `key`, when the periodic full rehash is not due
    /// and nothing that verification read has changed since (`VerificationSnapshot`); counts as a
    /// scan that trusted the cache. nil without a cache.
    /// The outcome of `prepareReuse`, taken by the next `reusableReport` asked the same.
    private var prepared: (key: SHA256Digest, venvRoot: String, report: VerificationReport?)?

    /// Decides now whether the next verification under `key` can reuse its snapshot, so that a
    /// one-shot check of many targets can check their stamps at once on several threads and then
    /// go through the targets in order. The decision holds as of this call.
    /// The caller spreads the targets over the threads, so each check here runs on one.
    func prepareReuse(key: SHA256Digest, venvRoot: String) {
        prepared = (key, venvRoot, decideReuse(key: key, venvRoot: venvRoot, threads: 1))
    }

    /// True when `prepareReuse` found the snapshot good: the next verification reads nothing.
    var hasPreparedReuse: Bool { prepared?.report != nil && !forceFullRehash }

    /// Never while `forceFullRehash` is set: that verification must look at every byte.
    func reusableReport(key: SHA256Digest, venvRoot: String) -> VerificationReport? {
        if let prepared, prepared.key == key, prepared.venvRoot == venvRoot, !forceFullRehash {
            self.prepared = nil
            return prepared.report
        }
        prepared = nil
        return decideReuse(key: key, venvRoot: venvRoot, threads: workers)
    }

    private func decideReuse(key: SHA256Digest, venvRoot: String, threads: Int) -> VerificationReport? {
        guard !forceFullRehash, let cache, let scans = cache.scansSinceFullRehash(), scans + 1 < fullRehashEvery,
            let report = VerificationSnapshot(beside: cache).reuse(key: key, venvRoot: venvRoot, workers: threads)
        else { return nil }
        cache.countScanWithoutRehash(scans + 1)
        lastScan = ScanStatistics(
            files: report.filesChecked, hashed: 0, fromCache: report.filesChecked, bytesHashed: 0, fullRehash: false,
            reusedReport: true)
        return report
    }

    /// Starts a verification that reads afresh: until it scans, the statistics say nothing was scanned.
    func beginFreshVerification() {
        lastScan = ScanStatistics(fullRehash: false)
    }

    /// Keeps `report` for `reusableReport` when a cache is kept and no input changed within the
    /// racy window before `startedAt` (realtime nanoseconds, taken before anything was read).
    /// Without inputs (the verification stopped before reading files) any kept report is dropped.
    func remember(
        _ report: VerificationReport, key: SHA256Digest, venvRoot: String?, inputs: [VerificationSnapshot.Input]?,
        startedAt: Int64
    ) {
        guard let cache else { return }
        let snapshot = VerificationSnapshot(beside: cache)
        guard let venvRoot, let inputs else {
            snapshot.discard()
            return
        }
        snapshot.store(
            report, key: key, venvRoot: venvRoot, inputs: inputs, notChangedSince: startedAt - racyWindowNanoseconds)
    }

    func realtimeNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}

/// The states a scan observed, in the order of its paths, read in place from the scan's own
/// storage rather than copied out (a large distribution has tens of thousands).
struct ScanStates: RandomAccessCollection {
    fileprivate let job: ScanJob
    var startIndex: Int { 0 }
    var endIndex: Int { job.count }
    subscript(position: Int) -> FileState { job.state(at: position) }
}

/// One scan shared by its worker threads, and watched by the calling thread.
///
/// Every file is read on a worker thread; the caller only waits, beats `progress` every
/// `pollInterval`, and gives up on a worker whose read has made no progress for `readTimeout`
/// (a hung NFS or FUSE mount): that file is `unreadable` for this scan, the stuck thread is
/// abandoned (whatever it returns with is dropped), and a fresh worker takes over the rest.
///
/// An earlier design handed every file from the scanning thread to a guard thread and back: two
/// context switches per file, more CPU than hashing a small file. Here a worker pulls file after
/// file itself and only a stall costs a thread.
private final class ScanJob: @unchecked Sendable {
    let count: Int
    let path: @Sendable (Int) -> String
    /// The cache's entries, asked for as files are claimed, in order, under the lock (nil: none
    /// trusted).
    let trusted: ScanCache.Lookup?
    /// The new cache, fed in the order of the paths as files are done, and how recent a change a
    /// remembered file may have (realtime nanoseconds; see `FileScanner.observe`).
    private let writer: ScanCache.Writer?
    private let rememberedIfChangedBefore: Int64
    let progress: @Sendable () -> Void
    let readTimeout: Duration
    let afterHashing: ((Int32) -> Void)?
    /// Which index each worker is reading (-1: none), who was abandoned, and the totals. Taken
    /// twice per file: uncontended, far cheaper than the read it brackets.
    private let book: Mutex<Book>
    /// Signalled once every index has a result.
    private let finished = DispatchSemaphore(value: 0)
    private let stateSlots: UnsafeMutableBufferPointer<FileState>

    private struct Book {
        var next = 0
        var completed = 0
        var inFlight: [Int] = []
        var abandoned: [Bool] = []
        var statistics = ScanStatistics()
        /// The next position to hand to the cache writer, and the files done ahead of it (one per
        /// other worker at most, plus abandoned reads): the entry to write, or nil for none.
        var nextToWrite = 0
        var doneAhead: [Int: (path: String, entry: ScanCache.Entry)?] = [:]
        var writeFailed = false
    }

    /// One worker thread's tools: its hasher and the count of its steps the caller watches.
    /// `@unchecked Sendable`: the hasher is used by the worker's own thread only.
    final class Worker: @unchecked Sendable {
        let number: Int
        let hasher: FileHasher
        let steps = Atomic<UInt64>(0)

        init(number: Int, afterHashing: ((Int32) -> Void)?) {
            self.number = number
            let hasher = FileHasher()
            hasher.afterHashing = afterHashing
            self.hasher = hasher
        }
    }

    init(
        count: Int, path: @escaping @Sendable (Int) -> String, trusted: ScanCache.Lookup?,
        writing: (writer: ScanCache.Writer, changedBefore: Int64)?, readTimeout: Duration,
        afterHashing: ((Int32) -> Void)?, progress: @escaping @Sendable () -> Void
    ) {
        self.count = count
        self.path = path
        self.trusted = trusted
        writer = writing?.writer
        rememberedIfChangedBefore = writing?.changedBefore ?? .min
        self.readTimeout = readTimeout
        self.afterHashing = afterHashing
        self.progress = progress
        book = Mutex(Book())
        stateSlots = .allocate(capacity: count)
        stateSlots.initialize(repeating: .missing)
    }

    /// An abandoned worker may return long after the scan; the slots live as long as it does.
    deinit {
        stateSlots.deinitialize().deallocate()
    }

    /// Observes every path on `workers` threads and waits for them, watching for stalled reads.
    func run(workers: Int) {
        guard count > 0 else { return }
        var watched = [(worker: Worker, steps: UInt64, since: ContinuousClock.Instant)]()
        for _ in 0..<workers {
            if let worker = start() { watched.append((worker, 0, .now)) }
        }
        guard !watched.isEmpty else {
            // No thread could be created: read here, unguarded, rather than not at all.
            work(on: newWorker())
            return
        }
        let poll = DispatchTimeInterval.nanoseconds(Int(StallGuard.pollInterval.wholeNanoseconds))
        while finished.wait(timeout: .now() + poll) == .timedOut {
            progress()
            for slot in watched.indices {
                let steps = watched[slot].worker.steps.load(ordering: .relaxed)
                if steps != watched[slot].steps {
                    watched[slot].steps = steps
                    watched[slot].since = .now
                } else if watched[slot].since.duration(to: .now) >= readTimeout {
                    watched[slot].since = .now
                    guard abandon(watched[slot].worker) else { continue }
                    guard let replacement = start() else {
                        // No thread for the rest: read it here, unguarded, rather than never finish.
                        work(on: newWorker())
                        continue
                    }
                    watched[slot] = (replacement, 0, .now)
                }
            }
        }
    }

    private func newWorker() -> Worker {
        book.withLock { book in
            book.inFlight.append(-1)
            book.abandoned.append(false)
            return Worker(number: book.inFlight.count - 1, afterHashing: afterHashing)
        }
    }

    /// A detached thread working through the paths; nil when none could be created.
    private func start() -> Worker? {
        let worker = newWorker()
        let context = Unmanaged.passRetained(Work { [self] in work(on: worker) }).toOpaque()
        var thread = pthread_t()
        let started = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<Work>.fromOpaque(context!).takeRetainedValue().body()
                return nil
            }, context)
        guard started == 0 else {
            Unmanaged<Work>.fromOpaque(context).release()
            return nil
        }
        pthread_detach(thread)
        return worker
    }

    private func work(on worker: Worker) {
        let advanced: @Sendable () -> Void = { [progress] in
            _ = worker.steps.add(1, ordering: .relaxed)
            progress()
        }
        while let (index, path, cached) = claim(for: worker) {
            // Progress is reported before the result is published: the last publish ends the scan,
            // and nothing of this file may run after `observe` has returned.
            if let entry = cached, let facts = unchanged(path, entry) {
                advanced()
                guard publish(index, path, by: worker, state: .present(facts), entry: entry, hashedBytes: nil) else {
                    return
                }
            } else {
                let (state, stamp) = worker.hasher.observe(path, progress: advanced)
                var entry: ScanCache.Entry?
                var bytes = 0
                if case .present(let facts) = state, let stamp {
                    entry = ScanCache.Entry(stamp: stamp, digest: facts.sha256)
                    bytes = facts.size
                }
                advanced()
                guard publish(index, path, by: worker, state: state, entry: entry, hashedBytes: bytes) else { return }
            }
        }
    }

    /// The next file for `worker`: its position, its path and the cache's entry for it, looked up
    /// here, where files are handed out in order.
    private func claim(for worker: Worker) -> (Int, String, ScanCache.Entry?)? {
        book.withLock { book in
            guard !book.abandoned[worker.number], book.next < count else { return nil }
            defer { book.next += 1 }
            book.inFlight[worker.number] = book.next
            let path = path(book.next)
            return (book.next, path, trusted?.entry(for: path))
        }
    }

    /// Stores a result unless the caller gave up on this worker meanwhile; false then.
    private func publish(
        _ index: Int, _ path: String, by worker: Worker, state: FileState, entry: ScanCache.Entry?, hashedBytes: Int?
    ) -> Bool {
        let done = book.withLock { book -> Bool? in
            guard !book.abandoned[worker.number] else { return nil }
            stateSlots[index] = state
            write(index, entry.map { (path, $0) }, &book)
            book.inFlight[worker.number] = -1
            if let hashedBytes {
                book.statistics.hashed += 1
                book.statistics.bytesHashed += hashedBytes
            } else {
                book.statistics.fromCache += 1
            }
            book.completed += 1
            return book.completed == count
        }
        guard let done else { return false }
        if done { finished.signal() }
        return true
    }

    /// Gives up on `worker`'s read in flight; false when it has none (it is between files or done).
    private func abandon(_ worker: Worker) -> Bool {
        let done = book.withLock { book -> Bool? in
            let index = book.inFlight[worker.number]
            guard index >= 0 else { return nil }
            book.abandoned[worker.number] = true
            book.inFlight[worker.number] = -1
            stateSlots[index] = .unreadable(StallGuard.timedOut(path(index), after: readTimeout))
            write(index, nil, &book)
            book.statistics.hashed += 1
            book.completed += 1
            return book.completed == count
        }
        guard let done else { return false }
        if done { finished.signal() }
        return true
    }

    /// Hands the cache writer every entry up to the first position not done yet, in order; files
    /// done ahead of it wait in `doneAhead`. Under the lock: the writer buffers 64 KiB, so only one
    /// call in many hundreds writes to the file.
    private func write(_ index: Int, _ done: (path: String, entry: ScanCache.Entry)?, _ book: inout Book) {
        guard let writer, !book.writeFailed else { return }
        book.doneAhead[index] = .some(done)
        while let next = book.doneAhead.removeValue(forKey: book.nextToWrite) {
            book.nextToWrite += 1
            guard let (path, entry) = next, entry.stamp.changedNanoseconds < rememberedIfChangedBefore else { continue }
            do {
                try writer.append(path: path, entry: entry)
            } catch {
                book.writeFailed = true
                book.doneAhead = [:]
                return
            }
        }
    }

    /// Whether every file's entry reached the cache writer; read after `run` returns.
    var wroteEveryEntry: Bool {
        book.withLock { !$0.writeFailed && $0.nextToWrite == count }
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

    /// Read after `run` returns: every slot has been written under the lock by then, and an
    /// abandoned worker never writes one again.
    func state(at index: Int) -> FileState { stateSlots[index] }
    func statistics(fullRehash: Bool) -> ScanStatistics {
        var total = book.withLock { $0.statistics }
        total.files = count
        total.fullRehash = fullRehash
        return total
    }

    private final class Work: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
