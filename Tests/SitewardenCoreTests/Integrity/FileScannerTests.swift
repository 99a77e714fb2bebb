import Foundation
import Synchronization
import Testing

@testable import SitewardenCore

@Suite("The scanning engine: worker threads, the scan cache, unstable files, bounded memory")
struct FileScannerTests {
    @Test func twoWorkersObserveExactlyWhatOneWorkerObservesOnTheRealTunelyInstall() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        unlink(scratch.sitePackages + "/tunely/cli.py")
        let paths = try Self.regularFiles(in: scratch.venv) + [scratch.venv + "/absent", scratch.venv + "/lib64"]

        let one = FileScanner(workers: 1).observe(paths, progress: {})
        let two = FileScanner(workers: 2).observe(paths, progress: {})
        let reportOne = scratch.verifier().verify(scanner: FileScanner(workers: 1))
        let reportTwo = scratch.verifier().verify(scanner: FileScanner(workers: 2))

        #expect(one.count == paths.count)
        #expect(one == two)
        #expect(one.last == .notRegularFile)
        #expect(one[one.count - 2] == .missing)
        #expect(reportOne == reportTwo)
        #expect(reportTwo.drifts.map(\.recordPath) == ["tunely/cli.py", "tunely/server.py"])
    }

    @Test func progressIsReportedFromTheWorkersForEveryFile() throws {
        let scratch = try RealTunely.scratchVenv()
        let paths = try Self.regularFiles(in: scratch.venv)
        let beats = Beats()

        _ = FileScanner(workers: 2).observe(paths, progress: { beats.count.add(1, ordering: .relaxed) })

        #expect(beats.count.load(ordering: .relaxed) >= paths.count)
    }

    @Test func unchangedFilesAreTakenFromTheCacheWithoutBeingRead() throws {
        let scratch = try RealTunely.scratchVenv()
        let paths = try Self.regularFiles(in: scratch.venv)
        let scanner = Self.cachedScanner(scratch, fullRehashEvery: 10)

        let first = scanner.observe(paths, progress: {})
        let firstScan = scanner.lastScan
        let second = scanner.observe(paths, progress: {})
        let secondScan = scanner.lastScan

        #expect(first == second)
        #expect(firstScan.fullRehash && firstScan.hashed == paths.count && firstScan.fromCache == 0)
        #expect(!secondScan.fullRehash && secondScan.hashed == 0 && secondScan.fromCache == paths.count)
    }

    @Test func contentChangedInPlaceIsFoundOnTheFastPathEvenWithItsMtimeSetBack() throws {
        let scratch = try RealTunely.scratchVenv()
        let scanner = Self.cachedScanner(scratch, fullRehashEvery: 10)
        let models = scratch.sitePackages + "/tunely/models.py"
        #expect(scratch.verifier().verify(scanner: scanner).isClean)
        var bytes = try Files.read(models)
        bytes[100] ^= 0x20
        let mtime = try Self.modificationTime(models)

        try Files.overwriteInPlace(models, with: bytes)
        try Self.setModificationTime(models, mtime)
        let report = scratch.verifier().verify(scanner: scanner)

        #expect(!scanner.lastScan.fullRehash)
        #expect(scanner.lastScan.hashed == 1)
        #expect(report.drifts.map(\.recordPath) == ["tunely/models.py"])
    }

    @Test func aFullRehashEveryNScansFindsAChangeTheCacheHid() throws {
        let scratch = try RealTunely.scratchVenv()
        let scanner = Self.cachedScanner(scratch, fullRehashEvery: 3)
        let models = scratch.sitePackages + "/tunely/models.py"
        #expect(scratch.verifier().verify(scanner: scanner).isClean)
        var bytes = try Files.read(models)
        bytes[100] ^= 0x20
        try Files.overwriteInPlace(models, with: bytes)
        // What a writer able to set ctime back would leave: the cache's stamp matches the file,
        // its digest is the old content's.
        let cache = try #require(scanner.cache)
        var contents = try #require(cache.load())
        contents.entries[models]?.stamp = try Self.stamp(models)
        try cache.store(contents)

        let hidden1 = scratch.verifier().verify(scanner: scanner)
        let hidden2 = scratch.verifier().verify(scanner: scanner)
        let full = scratch.verifier().verify(scanner: scanner)

        #expect(hidden1.isClean && hidden2.isClean)
        #expect(scanner.lastScan.fullRehash)
        #expect(full.drifts.map(\.recordPath) == ["tunely/models.py"])
    }

    @Test(arguments: ["flipped byte", "cut short", "garbage", "empty"])
    func aDamagedCacheIsIgnoredWholeAndRebuilt(damage: String) throws {
        let scratch = try RealTunely.scratchVenv()
        let paths = try Self.regularFiles(in: scratch.venv)
        let scanner = Self.cachedScanner(scratch, fullRehashEvery: 10)
        let clean = scanner.observe(paths, progress: {})
        let cache = try #require(scanner.cache)
        var bytes = try Files.read(cache.path)
        switch damage {
        case "flipped byte": bytes[bytes.count / 2] ^= 0x01
        case "cut short": bytes = bytes.prefix(bytes.count - 7)
        case "garbage": bytes = Data("SWSCAN3\nnot a cache at all, but long enough to be read".utf8)
        default: bytes = Data()
        }
        try Files.overwriteInPlace(cache.path, with: bytes)

        let loaded = cache.load()
        let rescanned = scanner.observe(paths, progress: {})

        #expect(loaded == nil)
        #expect(rescanned == clean)
        #expect(scanner.lastScan.fullRehash && scanner.lastScan.hashed == paths.count)
        #expect(cache.load()?.entries.count == paths.count)
    }

    @Test func filesChangedWithinTheRacyWindowAreNotRemembered() throws {
        let scratch = try RealTunely.scratchVenv()
        let paths = try Self.regularFiles(in: scratch.venv)
        let scanner = Self.cachedScanner(scratch, fullRehashEvery: 10)
        scanner.racyWindowNanoseconds = 3_600 * 1_000_000_000

        _ = scanner.observe(paths, progress: {})
        _ = scanner.observe(paths, progress: {})

        #expect(scanner.lastScan.fromCache == 0)
        #expect(scanner.lastScan.hashed == paths.count)
    }

    /// The racy window is measured from when the file was hashed, not from when the scan ended:
    /// a file changed just before a long scan hashed it could change again in the same tick.
    @Test func aFileChangedJustBeforeItWasHashedIsNotRememberedHoweverLongTheScanTakes() throws {
        let scratch = try Scratch()
        let settled = scratch.path + "/settled.py"
        let fresh = scratch.path + "/fresh.py"
        try Files.create(settled, Array("settled\n".utf8), mode: 0o644)
        usleep(400_000)
        try Files.create(fresh, Array("fresh\n".utf8), mode: 0o644)
        let cache = ScanCache(path: scratch.path + "/cache.bin")
        let scanner = FileScanner(workers: 1, cache: cache, fullRehashEvery: 10)
        scanner.racyWindowNanoseconds = 300_000_000
        // The scan goes on well past the window after hashing the fresh file (the first, in order).
        let slowed = Flag()
        scanner.afterHashing = { _ in
            if slowed.value.exchange(false, ordering: .relaxed) { usleep(600_000) }
        }

        let states = scanner.observe([fresh, settled], progress: {})
        let remembered = try #require(cache.load()).entries

        #expect(states.allSatisfy { if case .present = $0 { true } else { false } })
        #expect(remembered[settled] != nil)
        #expect(remembered[fresh] == nil)
    }

    /// Entries reach the cache in the order of the paths however the workers finish, and a scan
    /// whose cache cannot be written still returns every state.
    @Test func theCacheWrittenAsFilesAreDoneHoldsEveryFileInOrder() throws {
        let scratch = try RealTunely.scratchVenv()
        let paths = try Self.regularFiles(in: scratch.venv).sorted { Paths.bytewiseBefore($0, $1) }
        let scanner = Self.cachedScanner(scratch, fullRehashEvery: 10)
        // Workers finish out of order: every third file takes longer.
        let turn = Atomic<Int>(0)
        scanner.afterHashing = { _ in
            if turn.add(1, ordering: .relaxed).newValue % 3 == 0 { usleep(2_000) }
        }

        let states = scanner.observe(paths, progress: {})
        let file = try Data(contentsOf: URL(fileURLWithPath: try #require(scanner.cache).path))
        let cached = try #require(scanner.cache?.load())
        let written = try Self.pathsInFileOrder(file)

        #expect(written == paths)
        #expect(cached.entries.count == paths.count)
        for (path, state) in zip(paths, states) {
            guard case .present(let facts) = state else {
                Issue.record("\(path): \(state)")
                continue
            }
            #expect(cached.entries[path]?.digest == facts.sha256)
        }
    }

    /// The paths of a cache file in the order they are written (see `ScanCache`'s format).
    private static func pathsInFileOrder(_ file: Data) throws -> [String] {
        var paths: [String] = []
        var offset = ScanCache.headerSize
        let end = file.count - 32
        while offset < end {
            let length = file[offset..<(offset + 4)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            paths.append(String(decoding: file[(offset + 4)..<(offset + 4 + length)], as: UTF8.self))
            offset += 4 + length + 72
        }
        return paths
    }

    /// A temporary file is a leftover only once the process named in it has ended: a check run
    /// beside the daemon writes its cache for as long as its scan takes.
    @Test func temporaryFilesOfInterruptedWritesAreRemovedAndNothingElse() throws {
        let scratch = try Scratch()
        let directory = scratch.path + "/" + ScanCache.directoryName
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ended = try Shell.endedProcessID()
        let running = getpid()
        let kept = [
            "tunely.bin", "tunely.snapshot", "notes.tmp.txt", "tunely.bin.tmp.x1", "tunely.bin.tmp.\(running)",
            "tunely.snapshot.tmp.\(running)",
        ]
        let leftovers = ["tunely.bin.tmp.\(ended)", "tunely.snapshot.tmp.\(ended)"]
        for name in kept + leftovers { try Files.create(directory + "/" + name, [1], mode: 0o600) }

        let removed = ScanCache.removeInterruptedWrites(stateDirectory: scratch.path)

        #expect(removed == leftovers.count)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == kept.sorted())
    }

    @Test func cacheFileNamesCannotLeaveTheCacheDirectory() {
        let cache = ScanCache(stateDirectory: "/var/lib/sitewarden", target: "../etc/x y")

        #expect(cache.path == "/var/lib/sitewarden/scan-cache/%2E%2E%2Fetc%2Fx%20y.bin")
    }

    @Test func aFileAppendedToBetweenTheTwoFstatsIsUnstable() throws {
        let scratch = try Scratch()
        let path = scratch.path + "/growing"
        try Files.create(path, Array(repeating: 0x61, count: 100_000), mode: 0o644)
        let hasher = FileHasher()
        hasher.afterHashing = { _ in Self.append(to: path) }

        let state = hasher.state(of: path)

        #expect(state == .unstable)
    }

    @Test func aFileGrowingUnderAWriterThreadWhileHashedIsUnstable() throws {
        let scratch = try Scratch()
        let path = scratch.path + "/log"
        try Files.create(path, [], mode: 0o644)
        #expect(truncate(path, 256 << 20) == 0)
        let writing = Flag()
        let writer = Thread {
            while writing.value.load(ordering: .relaxed) {
                Self.append(to: path)
                usleep(200)
            }
        }

        writer.start()
        usleep(2_000)
        let states = FileScanner(workers: 2).observe([path], progress: {})
        writing.value.store(false, ordering: .relaxed)

        #expect(states == [.unstable])
    }

    @Test func anUnstableFileIsSetAsideNotDriftAndNotRestored() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let server = scratch.sitePackages + "/tunely/server.py"
        let scanner = FileScanner(workers: 2)
        scanner.afterHashing = { fd in
            var info = stat()
            fstat(fd, &info)
            if Files.inode(server) == UInt64(info.st_ino) { Self.append(to: server) }
        }

        let report = scratch.verifier().verify(scanner: scanner)

        #expect(report.unstable == ["lib/python3.11/site-packages/tunely/server.py"])
        #expect(report.drifts.isEmpty)
        #expect(report.warnings.contains("tunely/server.py: changed while being hashed; re-checked next cycle"))
    }

    @Test func hashingA2GiBSparseFileKeepsPeakMemoryFlat() throws {
        let scratch = try Scratch()
        let path = scratch.path + "/sparse"
        try Files.create(path, [], mode: 0o644)
        #expect(truncate(path, 2 << 30) == 0)
        let before = Self.peakResidentBytes()

        let states = FileScanner(workers: 2).observe([path], progress: {})

        guard case .present(let facts) = states.first else {
            Issue.record("expected a present file, got \(states)")
            return
        }
        #expect(facts.size == 2 << 30)
        // Tests run in parallel, so others may raise the peak too; a buffered read would add 2 GiB.
        #expect(Self.peakResidentBytes() - before < 128 << 20)
    }

    // MARK: Helpers

    private final class Beats: Sendable {
        let count = Atomic<Int>(0)
    }

    private final class Flag: Sendable {
        let value = Atomic<Bool>(true)
    }

    /// A scanner with a cache in the scratch directory that remembers files however new they are.
    /// The cache is read alongside paths asked for in order, a piece at a time; asked out of order
    /// it still answers, and a path it does not hold has no entry.
    @Test func cachedEntriesAreFoundForPathsInOrderAndOutOfOrder() throws {
        let scratch = try Scratch()
        let cache = ScanCache(path: scratch.path + "/cache.bin")
        var contents = ScanCache.Contents(scansSinceFullRehash: 2, entries: [:])
        // Enough entries for several 64 KiB pieces.
        for number in 0..<3000 {
            let stamp = FileStamp(
                size: Int64(number), modifiedNanoseconds: 1, changedNanoseconds: 2, inode: UInt64(number), device: 3)
            contents.entries["/venv/pkg/module_\(number).py"] = ScanCache.Entry(
                stamp: stamp, digest: SHA256Hasher.digest(of: Array("\(number)".utf8)))
        }
        try cache.store(contents)
        let sorted = (contents.entries.keys + ["/venv/pkg/absent.py", "/venv/zzz.py"]).sorted {
            $0.utf8.lexicographicallyPrecedes($1.utf8)
        }

        let inOrder = try #require(cache.lookup()).entry(for:)
        let inOrderEntries = sorted.map(inOrder)
        let reversed = Array(sorted.reversed())
        let outOfOrder = try #require(cache.lookup()).entry(for:)
        let outOfOrderEntries = reversed.map(outOfOrder)

        #expect(zip(sorted, inOrderEntries).allSatisfy { path, entry in entry == contents.entries[path] })
        #expect(inOrderEntries.compactMap { $0 }.count == 3000)
        #expect(zip(reversed, outOfOrderEntries).allSatisfy { path, entry in entry == contents.entries[path] })
        #expect(cache.scansSinceFullRehash() == 2)
    }

    private static func cachedScanner(_ scratch: Scratch, fullRehashEvery: Int) -> FileScanner {
        let cache = ScanCache(stateDirectory: scratch.path, target: "tunely")
        let scanner = FileScanner(workers: 2, cache: cache, fullRehashEvery: fullRehashEvery)
        scanner.racyWindowNanoseconds = 0
        return scanner
    }

    private static func regularFiles(in directory: String) throws -> [String] {
        let enumerator = try #require(FileManager.default.enumerator(atPath: directory))
        return enumerator.compactMap { $0 as? String }.map { directory + "/" + $0 }
            .filter {
                (try? FileManager.default.attributesOfItem(atPath: $0)[.type] as? FileAttributeType) == .typeRegular
            }
            .sorted()
    }

    private static func append(to path: String) {
        let fd = open(path, O_WRONLY | O_APPEND)
        defer { close(fd) }
        _ = write(fd, "x", 1)
    }

    private static func modificationTime(_ path: String) throws -> timespec {
        var info = stat()
        guard stat(path, &info) == 0 else { throw FixtureError("stat \(path) failed") }
        return info.st_mtim
    }

    private static func setModificationTime(_ path: String, _ time: timespec) throws {
        let times = [time, time]
        guard utimensat(AT_FDCWD, path, times, 0) == 0 else { throw FixtureError("utimensat \(path) failed") }
    }

    private static func stamp(_ path: String) throws -> FileStamp {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw FixtureError("lstat \(path) failed") }
        return FileStamp(info)
    }

    private static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024
    }
}
