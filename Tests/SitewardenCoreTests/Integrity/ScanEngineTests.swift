import Foundation
import Synchronization
import Testing

@testable import SitewardenCore

@Suite("The shared RECORD index and the scan workers' watch for stalled reads")
struct ScanEngineTests {
    @Test func theIndexIsBuiltOnceAndRebuiltWhenARecordChanges() throws {
        let scratch = try RealTunely.scratchVenv()
        let other = SmallDistribution(name: "helper", version: "1.0", files: [("helper/__init__.py", [0x23])])
        try other.install(into: scratch.sitePackages)
        let venvRoot = try Paths.realPath(scratch.venv)
        let sitePackages = try Paths.realPath(scratch.sitePackages)
        let helperFile = Paths.relative(sitePackages + "/helper/__init__.py", to: venvRoot)
        let added = Paths.relative(sitePackages + "/helper/added.py", to: venvRoot)

        let first = SitePackagesIndex.of(sitePackages: sitePackages, venvRoot: venvRoot)
        let again = SitePackagesIndex.of(sitePackages: sitePackages, venvRoot: venvRoot)
        let record = scratch.sitePackages + "/" + other.distInfo + "/RECORD"
        try Files.create(
            record, Array((try String(contentsOfFile: record, encoding: .utf8) + "helper/added.py,,\n").utf8),
            mode: 0o644)
        let rebuilt = SitePackagesIndex.of(sitePackages: sitePackages, venvRoot: venvRoot)

        #expect(first === again)
        #expect(first.listedByOther(helperFile, than: "tunely"))
        #expect(!first.listedByOther(helperFile, than: "helper"))
        #expect(!first.listedByOther(added, than: "tunely"))
        #expect(rebuilt !== first)
        #expect(rebuilt.listedByOther(added, than: "tunely"))
    }

    private static let namespaceFile: [UInt8] = Array("# namespace\n".utf8)

    /// Distributions alpha and beta in the real tunely venv, both listing `shared/__init__.py`;
    /// returns the venv path they share and the index of that site-packages.
    private func twoDistributionsSharingAPath(_ scratch: Scratch) throws -> (shared: String, index: SitePackagesIndex) {
        for name in ["alpha", "beta"] {
            try SmallDistribution(name: name, version: "1.0", files: [("shared/__init__.py", Self.namespaceFile)])
                .install(into: scratch.sitePackages)
        }
        let venvRoot = try Paths.realPath(scratch.venv)
        let sitePackages = try Paths.realPath(scratch.sitePackages)
        return (
            Paths.relative(sitePackages + "/shared/__init__.py", to: venvRoot),
            SitePackagesIndex.of(sitePackages: sitePackages, venvRoot: venvRoot)
        )
    }

    @Test func aPathTwoDistributionsShareKeepsEveryOtherRowWithItsHash() throws {
        let scratch = try RealTunely.scratchVenv()
        let (shared, index) = try twoDistributionsSharingAPath(scratch)

        let rows = index.rows(for: shared, otherThan: "alpha")

        #expect(rows.map(\.distInfo) == ["beta-1.0.dist-info"])
        #expect(rows.first?.hash?.recordField == SmallDistribution.canonicalHash(Self.namespaceFile))
        #expect(index.rows(for: shared, otherThan: "gamma").count == 2)
    }

    /// The index names a row by its place in its RECORD; read again after the RECORD was rewritten
    /// (before the next verification rebuilds the index), that place may hold another path, whose
    /// hash must not be taken for this one's.
    @Test func aRowReadAgainFromARewrittenRecordIsCheckedToBeTheSamePath() throws {
        let scratch = try RealTunely.scratchVenv()
        let (shared, index) = try twoDistributionsSharingAPath(scratch)
        try #require(index.rows(for: shared, otherThan: "alpha").first?.hash != nil)

        let record = scratch.sitePackages + "/beta-1.0.dist-info/RECORD"
        let other = "other/module.py,\(SmallDistribution.canonicalHash([1, 2, 3])),3\n"
        try Files.create(
            record, Array((other + (try String(contentsOfFile: record, encoding: .utf8))).utf8), mode: 0o644)

        let rows = index.rows(for: shared, otherThan: "alpha")
        #expect(rows.map(\.distInfo) == ["beta-1.0.dist-info"])
        #expect(rows.first.map { $0.hash == nil } == true)
    }

    @Test func aWorkerStuckOnOneFileIsGivenUpAndTheRestAreStillObserved() throws {
        let scratch = try RealTunely.scratchVenv()
        let paths = try FileManager.default.subpathsOfDirectory(atPath: scratch.sitePackages + "/tunely")
            .map { scratch.sitePackages + "/tunely/" + $0 }.filter { $0.hasSuffix(".py") }.sorted()
        let scanner = FileScanner(workers: 2, cache: nil, fullRehashEvery: 1, readTimeout: .milliseconds(300))
        let stalls = Atomic<Int>(0)
        scanner.afterHashing = { _ in
            // The first file hashed hangs as a read from a dead mount would.
            if stalls.add(1, ordering: .relaxed).oldValue == 0 { sleep(2) }
        }

        let started = ContinuousClock.now
        let states = scanner.observe(paths, progress: {})
        let elapsed = started.duration(to: .now)

        let timedOut = states.filter {
            if case .unreadable(let error) = $0 { StallGuard.isTimeout(error) } else { false }
        }
        #expect(timedOut.count == 1)
        #expect(states.filter { if case .present = $0 { true } else { false } }.count == paths.count - 1)
        #expect(elapsed < .milliseconds(1900))
    }
}
