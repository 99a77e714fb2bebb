import Foundation
import Testing

@testable import SitewardenCore

/// The verification snapshot: a clean report is reused only while nothing it was made from has
/// changed, and whatever changes, the answer is the one a full verification gives.
@Suite("Reusing a clean verification while nothing it read has changed")
struct VerificationSnapshotTests {
    /// Long enough for any timestamp granularity, short enough for many cases.
    static let racyWindow: Int64 = 50_000_000

    @Test func anUnchangedInstallReusesTheLastCleanReport() throws {
        let scratch = try Self.recordedScratch()
        let scanner = Self.cachedScanner(scratch)

        let first = scratch.verifier().verify(scanner: scanner)
        let firstScan = scanner.lastScan
        let second = scratch.verifier().verify(scanner: scanner)

        #expect(first.isClean && first.filesChecked == 18)
        #expect(!firstScan.reusedReport)
        #expect(scanner.lastScan.reusedReport)
        #expect(second == first)
    }

    @Test(arguments: Change.allCases)
    func everyChangeIsSeenAndAnsweredAsAFullVerificationAnswers(change: Change) throws {
        let scratch = try Self.recordedScratch()
        let unrelated = scratch.sitePackages + "/tunely/sub"
        try FileManager.default.createDirectory(atPath: unrelated, withIntermediateDirectories: false)
        Self.settle()
        let scanner = Self.cachedScanner(scratch)
        _ = scratch.verifier().verify(scanner: scanner)
        _ = scratch.verifier().verify(scanner: scanner)
        let reusedBefore = scanner.lastScan.reusedReport

        try change.apply(to: scratch)
        let afterChange = scratch.verifier().verify(scanner: scanner)
        let full = scratch.verifier().verify(scanner: FileScanner())

        #expect(reusedBefore, "the snapshot was in place before the change")
        #expect(!scanner.lastScan.reusedReport, "\(change) went unnoticed")
        #expect(afterChange == full)
    }

    @Test func thePeriodicFullRehashStillComesWhileTheReportIsReused() throws {
        let scratch = try Self.recordedScratch()
        let scanner = Self.cachedScanner(scratch, fullRehashEvery: 3)
        var reused = [Bool]()
        var full = [Bool]()

        for _ in 0..<7 {
            _ = scratch.verifier().verify(scanner: scanner)
            reused.append(scanner.lastScan.reusedReport)
            full.append(scanner.lastScan.fullRehash)
        }

        #expect(reused == [false, true, true, false, true, true, false])
        #expect(full == [true, false, false, true, false, false, true])
    }

    @Test(arguments: ["flipped byte", "cut short", "empty"])
    func aDamagedSnapshotIsIgnored(damage: String) throws {
        let scratch = try Self.recordedScratch()
        let scanner = Self.cachedScanner(scratch)
        let clean = scratch.verifier().verify(scanner: scanner)
        let snapshot = VerificationSnapshot(beside: try #require(scanner.cache))
        var bytes = try Files.read(snapshot.path)
        switch damage {
        case "flipped byte": bytes[bytes.count / 3] ^= 0x01
        case "cut short": bytes = bytes.prefix(bytes.count - 5)
        default: bytes = Data()
        }
        try Files.overwriteInPlace(snapshot.path, with: bytes)

        let again = scratch.verifier().verify(scanner: scanner)

        #expect(!scanner.lastScan.reusedReport)
        #expect(again == clean)
    }

    @Test func aReportWithDriftIsNeverKept() throws {
        let scratch = try Self.recordedScratch()
        let scanner = Self.cachedScanner(scratch)
        _ = scratch.verifier().verify(scanner: scanner)
        let snapshot = VerificationSnapshot(beside: try #require(scanner.cache))
        let keptWhenClean = FileManager.default.fileExists(atPath: snapshot.path)
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        Self.settle()

        let damaged = scratch.verifier().verify(scanner: scanner)
        let again = scratch.verifier().verify(scanner: scanner)

        #expect(keptWhenClean)
        #expect(!FileManager.default.fileExists(atPath: snapshot.path))
        #expect(!scanner.lastScan.reusedReport)
        #expect(damaged.drifts.map(\.recordPath) == ["tunely/server.py"])
        #expect(again == damaged)
    }

    @Test func anotherConfigurationOfTheTargetDoesNotReuseTheReport() throws {
        let scratch = try Self.recordedScratch()
        let scanner = Self.cachedScanner(scratch)
        _ = scratch.verifier().verify(scanner: scanner)
        var ignoring = scratch.verifier()
        ignoring.policy.ignore = ["tunely/server.py"]

        let report = ignoring.verify(scanner: scanner)

        #expect(!scanner.lastScan.reusedReport)
        #expect(report.filesChecked == 17)
    }

    @Test func aForcedFullVerificationIsNeverAnsweredFromTheSnapshot() throws {
        let scratch = try Self.recordedScratch()
        let scanner = Self.cachedScanner(scratch)
        _ = scratch.verifier().verify(scanner: scanner)
        _ = scratch.verifier().verify(scanner: scanner)
        let reusedBefore = scanner.lastScan.reusedReport

        // What a newly failing route asks for: every byte looked at.
        scanner.forceFullRehash = true
        let forced = scratch.verifier().verify(scanner: scanner)

        #expect(reusedBefore)
        #expect(!scanner.lastScan.reusedReport)
        #expect(scanner.lastScan.fullRehash && scanner.lastScan.hashed == 18)
        #expect(forced.isClean)
    }

    @Test func targetsPreparedTogetherGiveTheReportsEachGivesAlone() throws {
        let scratches = try (0..<4).map { _ in try Self.recordedScratch() }
        let monitors = scratches.map { scratch in
            let config = TargetConfig(
                name: "tunely", venv: scratch.venv, distribution: "tunely", version: "0.2.3", backup: scratch.backup)
            return TargetMonitor(target: config, events: RecordingSink(), scanner: Self.cachedScanner(scratch))
        }
        for monitor in monitors { _ = monitor.verify() }
        try Files.keepFirstLines(scratches[2].sitePackages + "/tunely/server.py", 562)

        CheckCommand.prepareReuse(monitors, threads: 2)
        let reports = monitors.map { $0.verify() }
        let reused = monitors.map { $0.scanner.lastScan.reusedReport }
        let alone = scratches.map { $0.verifier().verify(scanner: FileScanner()) }

        #expect(reused == [true, true, false, true])
        #expect(reports == alone)
        #expect(reports[2].drifts.map(\.recordPath) == ["tunely/server.py"])
    }

    @Test func inputsChangedJustBeforeTheVerificationAreNotVouchedFor() throws {
        let scratch = try Self.recordedScratch()
        let scanner = Self.cachedScanner(scratch)
        scanner.racyWindowNanoseconds = 3_600 * 1_000_000_000

        _ = scratch.verifier().verify(scanner: scanner)
        _ = scratch.verifier().verify(scanner: scanner)

        #expect(!scanner.lastScan.reusedReport)
        #expect(!FileManager.default.fileExists(atPath: VerificationSnapshot(beside: try #require(scanner.cache)).path))
    }

    /// What can change under a clean install, each in the smallest way that still matters.
    enum Change: String, CaseIterable, CustomStringConvertible {
        case contentRewrittenInPlaceWithItsMtimeSetBack
        case modeChanged
        case moduleAddedInASubdirectory
        case bytecodeWrittenByTheInterpreter
        case fileDeleted
        case recordRewrittenWithTheSameBytes
        case baselineRecordedAgain
        case anotherDistributionInstalled
        case installResidueLeft
        case packageDirectoryMovedAndLinkedBack
        case binReplacedByALinkOutOfTheVenv
        case venvMovedAndLinkedBack

        var description: String { rawValue }

        func apply(to scratch: Scratch) throws {
            let package = scratch.sitePackages + "/tunely"
            switch self {
            case .contentRewrittenInPlaceWithItsMtimeSetBack:
                let models = package + "/models.py"
                var info = stat()
                stat(models, &info)
                var bytes = try Files.read(models)
                bytes[100] ^= 0x20
                try Files.overwriteInPlace(models, with: bytes)
                var times = [info.st_atim, info.st_mtim]
                utimensat(AT_FDCWD, models, &times, 0)
            case .modeChanged:
                chmod(package + "/models.py", 0o755)
            case .moduleAddedInASubdirectory:
                try Files.create(package + "/sub/evil.py", Array("import os\n".utf8), mode: 0o644)
            case .bytecodeWrittenByTheInterpreter:
                try FileManager.default.createDirectory(
                    atPath: package + "/__pycache__", withIntermediateDirectories: false)
                try Files.create(
                    package + "/__pycache__/models.cpython-311.pyc", [0xa7, 0x0d, 0x0d, 0x0a], mode: 0o644)
            case .fileDeleted:
                unlink(package + "/cli.py")
            case .recordRewrittenWithTheSameBytes:
                let record = scratch.sitePackages + "/tunely-0.2.3.dist-info/RECORD"
                try Files.overwriteInPlace(record, with: try Files.read(record))
            case .baselineRecordedAgain:
                _ = try scratch.recorder().record()
            case .anotherDistributionInstalled:
                let distInfo = scratch.sitePackages + "/other-1.0.dist-info"
                try FileManager.default.createDirectory(atPath: distInfo, withIntermediateDirectories: false)
                try Files.create(
                    distInfo + "/RECORD", Array("tunely/models.py,,\nother-1.0.dist-info/RECORD,,\n".utf8), mode: 0o644)
            case .installResidueLeft:
                try FileManager.default.createDirectory(
                    atPath: scratch.sitePackages + "/~unely", withIntermediateDirectories: false)
            case .packageDirectoryMovedAndLinkedBack:
                rename(package, package + "-moved")
                symlink("tunely-moved", package)
            case .binReplacedByALinkOutOfTheVenv:
                let outside = scratch.path + "/outside-bin"
                rename(scratch.venv + "/bin", outside)
                symlink(outside, scratch.venv + "/bin")
            case .venvMovedAndLinkedBack:
                rename(scratch.venv, scratch.path + "/venv-moved")
                symlink("venv-moved", scratch.venv)
            }
        }
    }

    private static func recordedScratch() throws -> Scratch {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        settle()
        return scratch
    }

    /// Lets the last changes age past the racy window, so the next clean report may be kept.
    private static func settle() {
        usleep(useconds_t(racyWindow / 1000 + 20_000))
    }

    private static func cachedScanner(_ scratch: Scratch, fullRehashEvery: Int = 100) -> FileScanner {
        let scanner = FileScanner(
            workers: 2, cache: ScanCache(stateDirectory: scratch.path, target: "tunely"),
            fullRehashEvery: fullRehashEvery)
        scanner.racyWindowNanoseconds = racyWindow
        return scanner
    }
}
