import Dispatch
import Glibc
import Synchronization

/// Watches a distribution's directories with inotify and reports once they have been quiet.
///
/// An installer rewrites many files over a second or two; checking in the middle would see a
/// half-written install and restore over it. So every change (re)starts a quiet-period timer, and
/// `onQuiet` runs only when that much time has passed with no further change: a burst of writes
/// yields one call, after the burst.
///
/// Directories are watched by inotify, which is not recursive: `package` roots get a watch on each
/// subdirectory too (except `__pycache__`, whose bytecode the interpreter rewrites at will), and
/// directories created later under them are added as they appear. Lost events (`IN_Q_OVERFLOW`)
/// count as a change, and the watches are renewed. When the kernel's watch limit is reached
/// (`ENOSPC`), `onUnavailable` is told once and the watcher stops: the interval timer still checks.
///
/// `@unchecked Sendable`: every mutable property is touched only on `queue`.
final class ChangeWatcher: @unchecked Sendable {
    /// A directory to watch; `recursive` adds its subdirectories, present and future.
    struct Root: Hashable, Sendable {
        var path: String
        var recursive: Bool
    }

    /// The changes that matter: content, metadata, and entries appearing, vanishing or moving.
    static let mask: UInt32 =
        UInt32(IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
        | UInt32(IN_DELETE_SELF | IN_MOVE_SELF) | UInt32(IN_ONLYDIR) | UInt32(IN_DONT_FOLLOW)
        | UInt32(IN_EXCL_UNLINK)

    let quietPeriod: Duration
    private let descriptor: Int32
    private let queue: DispatchQueue
    private let onQuiet: @Sendable () -> Void
    private let onUnavailable: @Sendable (String) -> Void
    private let addWatch: (Int32, String, UInt32) -> Int32
    private var readSource: DispatchSourceRead?
    private var quietTimer: DispatchSourceTimer?
    /// Watched directories by watch descriptor, and whether each one's new subdirectories are added.
    private var watched: [Int32: (path: String, recursive: Bool)] = [:]
    private var roots: [Root] = []
    private var stopped = false
    private var overflowCount = 0
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    /// `CycleClock` time of the last change seen (0: none yet); read from the cycle queue.
    private let lastChange = Atomic<UInt64>(0)

    /// The inotify descriptor, for tests that check it is closed.
    var fileDescriptor: Int32 { descriptor }

    /// Starts an inotify instance whose events are read on `queue`; `onQuiet` and `onUnavailable`
    /// run there too. Nothing is watched until `watch(_:)`.
    init(
        quietPeriod: Duration, queue: DispatchQueue, onQuiet: @escaping @Sendable () -> Void,
        onUnavailable: @escaping @Sendable (String) -> Void,
        addWatch: @escaping (Int32, String, UInt32) -> Int32 = { inotify_add_watch($0, $1, $2) }
    ) throws(SystemError) {
        let descriptor = inotify_init1(Int32(IN_NONBLOCK) | Int32(IN_CLOEXEC))
        guard descriptor >= 0 else { throw SystemError("inotify_init1", "change watcher") }
        self.descriptor = descriptor
        self.quietPeriod = quietPeriod
        self.queue = queue
        self.onQuiet = onQuiet
        self.onUnavailable = onUnavailable
        self.addWatch = addWatch

        let source = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: queue)
        source.setEventHandler { [weak self] in self?.drain() }
        // Dispatch may still be using the descriptor until the source is cancelled: the cancel
        // handler is the one place it is closed.
        source.setCancelHandler { close(descriptor) }
        source.resume()
        readSource = source
    }

    deinit {
        quietTimer?.cancel()
        readSource?.cancel()
    }

    /// Watches `roots` (on the watcher's queue, like everything else). Safe to call again with a
    /// new set after each check: a directory already watched keeps its watch.
    func watch(_ roots: [Root]) {
        queue.async { [self] in
            self.roots = roots
            addWatches(roots)
        }
    }

    /// Blocks until the watcher's queue has handled what was sent to it so far; for tests.
    func settle() {
        queue.sync {}
    }

    /// How many times the kernel's event queue overflowed; for tests.
    var overflows: Int {
        queue.sync { overflowCount }
    }

    /// The number of directories watched; for tests.
    var watchedDirectories: Int {
        queue.sync { watched.count }
    }

    private func addWatches(_ roots: [Root]) {
        for root in roots where !stopped {
            add(root.path, recursive: root.recursive)
        }
    }

    /// Watches `path`, and with `recursive` every subdirectory below it.
    private func add(_ path: String, recursive: Bool) {
        let watch = addWatch(descriptor, path, Self.mask)
        guard watch >= 0 else {
            switch errno {
            case ENOSPC:
                giveUp(
                    "the inotify watch limit is reached (fs.inotify.max_user_watches) while watching \(path); "
                        + "changes are found by the interval timer only")
            case ENOMEM:
                giveUp("out of memory adding an inotify watch on \(path); changes are found by the interval timer only")
            default:
                // Gone or not a directory by now: the check that follows will say what happened.
                break
            }
            return
        }
        watched[watch] = (path, recursive)
        guard recursive else { return }
        for name in directoryEntries(path) where name != "__pycache__" {
            let child = path + "/" + name
            if isDirectory(child) { add(child, recursive: true) }
        }
    }

    /// Stops watching after a failure the watcher cannot recover from; says so once.
    private func giveUp(_ reason: String) {
        guard !stopped else { return }
        stopped = true
        readSource?.cancel()
        quietTimer?.cancel()
        watched.removeAll()
        onUnavailable(reason)
    }

    /// Reads every queued event; any change (re)starts the quiet period.
    private func drain() {
        var changed = false
        while !stopped {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            changed = handle(count: count) || changed
        }
        if changed {
            lastChange.store(CycleClock.now(), ordering: .releasing)
            restartQuietPeriod()
        }
    }

    /// True when a change was seen less than `quietPeriod` ago: an install may be under way.
    /// Events queued but not read yet are not counted; the next cycle sees them.
    func changedWithinQuietPeriod() -> Bool {
        let last = lastChange.load(ordering: .acquiring)
        return last != 0 && CycleClock.since(last) < quietPeriod
    }

    /// Handles `count` bytes of events in `buffer`; true when any of them is a change.
    private func handle(count: Int) -> Bool {
        var changed = false
        var offset = 0
        let header = MemoryLayout<inotify_event>.size
        while offset + header <= count {
            let (watch, mask, nameLength) = buffer.withUnsafeBytes { raw in
                let event = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                return (event.wd, event.mask, Int(event.len))
            }
            let name = nameLength == 0 ? "" : nameAt(offset + header, length: nameLength)
            offset += header + nameLength

            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                // Events were lost, directory creations among them: renew every watch.
                overflowCount += 1
                addWatches(roots)
                changed = true
                continue
            }
            if mask & UInt32(IN_IGNORED) != 0 {
                watched[watch] = nil
                continue
            }
            guard let directory = watched[watch] else { continue }
            changed = true
            let isNewDirectory =
                mask & UInt32(IN_ISDIR) != 0 && mask & (UInt32(IN_CREATE) | UInt32(IN_MOVED_TO)) != 0
            if isNewDirectory && name != "__pycache__" {
                let path = directory.path + "/" + name
                if directory.recursive || roots.contains(where: { Self.isSameOrInside($0.path, path) }) {
                    add(path, recursive: directory.recursive || roots.contains { $0.path == path && $0.recursive })
                }
            }
        }
        return changed
    }

    /// The NUL-padded name that follows an event header.
    private func nameAt(_ start: Int, length: Int) -> String {
        let bytes = buffer[start..<start + length]
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// Each change pushes the check back: it runs `quietPeriod` after the last one.
    private func restartQuietPeriod() {
        if quietTimer == nil {
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.setEventHandler { [weak self] in
                guard let self, !self.stopped else { return }
                self.onQuiet()
            }
            timer.schedule(deadline: .distantFuture)
            timer.resume()
            quietTimer = timer
        }
        quietTimer?.schedule(
            deadline: .now() + .nanoseconds(Int(quietPeriod.wholeNanoseconds)), repeating: .never,
            leeway: .milliseconds(50))
    }

    /// True when `path` is `ancestor` or below it: a root recreated after its parent was removed.
    private static func isSameOrInside(_ path: String, _ ancestor: String) -> Bool {
        path == ancestor || path.hasPrefix(ancestor + "/")
    }

    private func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }
}
