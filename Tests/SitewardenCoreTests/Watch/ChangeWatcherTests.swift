import Foundation
import Synchronization
import Testing

@testable import SitewardenCore

/// Real inotify on a scratch copy of the real tunely install: an install in progress is waited
/// out, then checked once (CASES 9). Timings are generous: they check order and coalescing.
@Suite("Watching a distribution's directories", .serialized)
struct ChangeWatcherTests {
    static let quietPeriod: Duration = .milliseconds(500)

    /// When each quiet-period callback ran, and why the watcher gave up, if it did.
    final class Calls: Sendable {
        let quiet = Mutex<[ContinuousClock.Instant]>([])
        let unavailable = Mutex<[String]>([])

        var quietTimes: [ContinuousClock.Instant] { quiet.withLock { $0 } }

        /// Waits until `count` quiet callbacks have run or `limit` passed.
        func waitForQuiet(count: Int, limit: Duration = .seconds(5)) {
            let deadline = ContinuousClock.now + limit
            while quietTimes.count < count && ContinuousClock.now < deadline { usleep(20_000) }
        }
    }

    private func target(_ scratch: Scratch) -> TargetConfig {
        TargetConfig(
            name: "tunely", venv: scratch.venv, distribution: "tunely", version: "0.2.3", backup: scratch.backup,
            unit: nil, routes: [])
    }

    private func watcher(
        _ calls: Calls, queue: DispatchQueue = DispatchQueue(label: "test.watch"),
        addWatch: @escaping (Int32, String, UInt32) -> Int32 = { inotify_add_watch($0, $1, $2) }
    ) throws -> ChangeWatcher {
        try ChangeWatcher(
            quietPeriod: Self.quietPeriod, queue: queue,
            onQuiet: { calls.quiet.withLock { $0.append(.now) } },
            onUnavailable: { reason in calls.unavailable.withLock { $0.append(reason) } }, addWatch: addWatch)
    }

    private func append(_ path: String, _ text: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    @Test func watchesThePackageRecursivelyAndSitePackagesAlone() throws {
        let scratch = try RealTunely.scratchVenv()
        let sitePackages = try Paths.realPath(scratch.sitePackages)
        let venv = try Paths.realPath(scratch.venv)

        let roots = WatchRoots.of(target(scratch))

        #expect(roots.contains(ChangeWatcher.Root(path: sitePackages, recursive: false)))
        #expect(roots.contains(ChangeWatcher.Root(path: sitePackages + "/tunely", recursive: true)))
        #expect(roots.contains(ChangeWatcher.Root(path: sitePackages + "/tunely-0.2.3.dist-info", recursive: true)))
        #expect(roots.contains(ChangeWatcher.Root(path: venv + "/bin", recursive: false)))
        #expect(!roots.contains { $0.path.hasPrefix(sitePackages + "/tunely/") }, "nested roots: \(roots)")
    }

    @Test func writeTriggersAfterTheQuietPeriodAndNotBefore() throws {
        let scratch = try RealTunely.scratchVenv()
        let calls = Calls()
        let watcher = try watcher(calls)
        watcher.watch(WatchRoots.of(target(scratch)))
        watcher.settle()

        let written = ContinuousClock.now
        try append(scratch.sitePackages + "/tunely/server.py", "# changed\n")
        usleep(300_000)
        let beforeQuietPeriodEnded = calls.quietTimes
        calls.waitForQuiet(count: 1)
        usleep(700_000)

        #expect(beforeQuietPeriodEnded.isEmpty)
        let times = calls.quietTimes
        #expect(times.count == 1)
        if let fired = times.first {
            #expect(fired - written >= Self.quietPeriod, "fired after \(fired - written)")
        }
    }

    @Test func burstOfWritesLikeAnInstallTriggersOnceAfterTheBurst() throws {
        let scratch = try RealTunely.scratchVenv()
        let calls = Calls()
        let watcher = try watcher(calls)
        watcher.watch(WatchRoots.of(target(scratch)))
        watcher.settle()
        let files = try FileManager.default.subpathsOfDirectory(atPath: scratch.sitePackages + "/tunely")
            .filter { $0.hasSuffix(".py") }.prefix(10)
        try #require(files.count == 10)

        var lastWrite = ContinuousClock.now
        for file in files {
            let path = scratch.sitePackages + "/tunely/" + file
            try Files.overwriteInPlace(path, with: try Files.read(path))
            lastWrite = .now
            usleep(150_000)
        }
        calls.waitForQuiet(count: 1)
        usleep(1_000_000)

        let times = calls.quietTimes
        #expect(times.count == 1, "one check for the whole burst, got \(times.count)")
        if let fired = times.first {
            #expect(fired - lastWrite >= Self.quietPeriod - .milliseconds(150), "fired \(fired - lastWrite) after")
        }
    }

    @Test func newSubdirectoryIsWatched() throws {
        let scratch = try RealTunely.scratchVenv()
        let calls = Calls()
        let watcher = try watcher(calls)
        watcher.watch(WatchRoots.of(target(scratch)))
        watcher.settle()
        let before = watcher.watchedDirectories
        let subpackage = scratch.sitePackages + "/tunely/plugins"

        try FileManager.default.createDirectory(atPath: subpackage, withIntermediateDirectories: false)
        calls.waitForQuiet(count: 1)
        let afterCreation = watcher.watchedDirectories
        try Files.create(subpackage + "/evil.py", Array("import os\n".utf8), mode: 0o644)
        calls.waitForQuiet(count: 2)

        #expect(afterCreation == before + 1)
        #expect(calls.quietTimes.count == 2, "the file written inside the new directory was seen")
    }

    @Test func lostEventsCountAsAChange() throws {
        let scratch = try RealTunely.scratchVenv()
        let calls = Calls()
        let queue = DispatchQueue(label: "test.watch.overflow")
        let watcher = try watcher(calls, queue: queue)
        watcher.watch(WatchRoots.of(target(scratch)))
        watcher.settle()
        let blocked = DispatchSemaphore(value: 0)
        queue.async { blocked.wait() }

        // More events than the kernel queues (fs.inotify.max_queued_events, 16384 by default);
        // alternating files keeps the kernel from merging identical consecutive events.
        let limit =
            Int(
                (try? String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 16384
        let first = open(scratch.sitePackages + "/tunely/__init__.py", O_WRONLY | O_APPEND)
        let second = open(scratch.sitePackages + "/tunely/server.py", O_WRONLY | O_APPEND)
        defer {
            close(first)
            close(second)
        }
        for _ in 0..<(limit / 2 + 100) {
            _ = write(first, " ", 1)
            _ = write(second, " ", 1)
        }
        blocked.signal()
        calls.waitForQuiet(count: 1)
        usleep(800_000)

        #expect(watcher.overflows >= 1)
        #expect(calls.quietTimes.count == 1)
        #expect(calls.unavailable.withLock { $0 }.isEmpty)
    }

    @Test func watchLimitReachedIsReportedOnceAndWatchingStops() throws {
        let scratch = try RealTunely.scratchVenv()
        let calls = Calls()
        let watcher = try watcher(calls) { _, _, _ in
            errno = ENOSPC
            return -1
        }

        watcher.watch(WatchRoots.of(target(scratch)))
        watcher.watch(WatchRoots.of(target(scratch)))
        watcher.settle()

        let reasons = calls.unavailable.withLock { $0 }
        #expect(reasons.count == 1)
        #expect(reasons.first?.contains("fs.inotify.max_user_watches") == true)
        #expect(watcher.watchedDirectories == 0)
    }

    @Test func closesItsDescriptorOnDeinit() throws {
        let calls = Calls()
        let queue = DispatchQueue(label: "test.watch.close")
        var watcher: ChangeWatcher? = try watcher(calls, queue: queue)
        let descriptor = try #require(watcher?.fileDescriptor)
        let link = "/proc/self/fd/\(descriptor)"
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == "anon_inode:inotify")

        watcher = nil
        // The read source's cancel handler closes it on the queue, once Dispatch lets go of it.
        let deadline = ContinuousClock.now + .seconds(2)
        while (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == "anon_inode:inotify",
            ContinuousClock.now < deadline
        {
            queue.sync { usleep(10_000) }
        }

        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) != "anon_inode:inotify")
    }
}
