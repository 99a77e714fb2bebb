import Dispatch
import Glibc
import Synchronization

/// Runs blocking reads on a worker thread of its own and stops waiting for one that stalls.
///
/// A `read()` from a hung NFS mount or a FUSE server that never answers sleeps uninterruptibly in
/// the kernel: no signal or timeout reaches it. The only way to keep the cycle (and with it the
/// watchdog) going is not to make that call on the cycle's thread. The guard hands each piece of
/// work to its worker thread and waits; when the work reports no progress for `deadline`, the
/// guard returns nil and abandons that thread for good (it may never come back, and if it does it
/// exits instead of taking new work). The next call starts a fresh worker.
///
/// One guard serves one caller at a time; give each scanning worker its own.
final class StallGuard {
    /// How long the work may go without reporting progress.
    let deadline: Duration
    /// How often the waiting caller's `waiting` closure runs: well inside the shortest watchdog
    /// half-period systemd allows anyone to configure in practice (250 ms).
    static let pollInterval: Duration = .milliseconds(100)

    private var worker: Worker?
    /// Workers given up on because their work stalled; for tests and diagnostics.
    private(set) var abandonedWorkers = 0

    init(deadline: Duration) {
        self.deadline = deadline
    }

    deinit {
        worker?.retire()
    }

    /// Runs `work` on the worker thread and returns its result, or nil when it went `deadline`
    /// without calling the `advanced` closure it is given (every call re-arms the deadline).
    ///
    /// `waiting` runs on the caller's thread every `pollInterval` while it waits, so a caller can
    /// beat the watchdog's heartbeat: the wait is bounded, so the cycle is making progress.
    func run<Result>(
        waiting: () -> Void = {}, _ work: @escaping (_ advanced: @escaping @Sendable () -> Void) -> Result
    ) -> Result? {
        let job = Job(work)
        let worker = self.worker ?? Worker()
        self.worker = worker
        worker.submit(job)

        var lastProgress = job.progress.load(ordering: .acquiring)
        var armed = CycleClock.now()
        while true {
            if job.done.wait(timeout: .now() + .nanoseconds(Int(Self.pollInterval.wholeNanoseconds))) == .success {
                return job.takeResult()
            }
            waiting()
            let progress = job.progress.load(ordering: .acquiring)
            if progress != lastProgress {
                lastProgress = progress
                armed = CycleClock.now()
            } else if CycleClock.since(armed) >= deadline {
                // The thread is blocked where nothing can reach it; it must not be handed more work.
                worker.retire()
                self.worker = nil
                abandonedWorkers += 1
                return nil
            }
        }
    }

    /// One piece of work and its result, shared by the caller and the worker thread.
    ///
    /// `@unchecked Sendable`: `work` and `result` are touched by one thread at a time, handed over
    /// through the worker's semaphore and `done`; an abandoned job's result is never read.
    private final class Job: @unchecked Sendable {
        private let work: (@escaping @Sendable () -> Void) -> Any
        private var result: Any?
        let progress = Atomic<UInt64>(0)
        let done = DispatchSemaphore(value: 0)

        init<Value>(_ work: @escaping (@escaping @Sendable () -> Void) -> Value) {
            self.work = { advanced in work(advanced) }
        }

        func execute() {
            result = work { [self] in _ = progress.add(1, ordering: .releasing) }
            done.signal()
        }

        func takeResult<Value>() -> Value {
            guard let value = result as? Value else { preconditionFailure("a StallGuard job returned another type") }
            return value
        }
    }

    /// A detached pthread taking jobs one at a time until it is retired.
    private final class Worker: @unchecked Sendable {
        private let pending = Mutex<(job: Job?, retired: Bool)>((nil, false))
        private let wakeUp = DispatchSemaphore(value: 0)

        init() {
            var thread = pthread_t()
            let context = Unmanaged.passRetained(self).toOpaque()
            let created = pthread_create(
                &thread, nil,
                { context in
                    let worker = Unmanaged<Worker>.fromOpaque(context!).takeRetainedValue()
                    worker.loop()
                    return nil
                }, context)
            precondition(created == 0, "pthread_create: \(String(cString: strerror(created)))")
            pthread_detach(thread)
        }

        func submit(_ job: Job) {
            pending.withLock { $0.job = job }
            wakeUp.signal()
        }

        /// Lets the thread exit once it is free: at once when idle, after its stalled read otherwise.
        func retire() {
            pending.withLock { $0.retired = true }
            wakeUp.signal()
        }

        private func loop() {
            while true {
                wakeUp.wait()
                let (job, retired) = pending.withLock { state in
                    defer { state.job = nil }
                    return (state.job, state.retired)
                }
                if retired { return }
                job?.execute()
            }
        }
    }
}

extension StallGuard {
    /// The error a stalled read is reported with: ETIMEDOUT, and how long it was waited for.
    static func timedOut(_ path: String, after deadline: Duration) -> SystemError {
        SystemError(
            "read", path, code: ETIMEDOUT, reason: "no data for \(deadline.secondsText), given up for this cycle")
    }

    /// True for the error `timedOut` makes: the file's state is unknown this cycle, not drifted.
    static func isTimeout(_ error: SystemError) -> Bool {
        error.call == "read" && error.code == ETIMEDOUT
    }
}
