import Foundation
import Testing

@testable import SitewardenCore

/// Random damage to a copy of the real tunely install: every damaged file is reported in its
/// class, and nothing else is. Set SITEWARDEN_PROPERTY_SEED to replay a failure.
@Suite("Random damage is classified exactly")
struct DamagePropertyTests {
    static let iterations = 150

    @Test func everyDamagedFileIsReportedInItsClassAndNothingElse() throws {
        let seed =
            ProcessInfo.processInfo.environment["SITEWARDEN_PROPERTY_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 0...UInt64.max)
        var random = SplitMix64(state: seed)
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        let restorer = Restorer(venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest)
        // RECORD is what the verifier reads to know the rest; damaging it is another test's business.
        let candidates = manifest.files.filter { !$0.recordPath.hasSuffix("/RECORD") }
        let modules = candidates.filter { $0.recordPath.hasPrefix("tunely/") }
        // Kept across iterations: whatever the damage, its snapshot of the last clean state must
        // give way to the answer a fresh verification gives.
        let cached = FileScanner(
            workers: 2, cache: ScanCache(stateDirectory: scratch.path, target: "tunely"), fullRehashEvery: 1000)
        cached.racyWindowNanoseconds = 20_000_000

        for iteration in 0..<Self.iterations {
            let context = Comment(rawValue: "seed \(seed) (SITEWARDEN_PROPERTY_SEED=\(seed)), iteration \(iteration)")
            var expected = [String: String]()
            var created = [String]()
            for file in candidates.shuffled(using: &random).prefix(Int.random(in: 1...4, using: &random)) {
                let path = scratch.venv + "/" + file.venvPath
                let action = Int.random(in: 0..<5, using: &random)
                switch action {
                case 0 where file.size > 0:
                    var bytes = try Files.read(path)
                    bytes[Int.random(in: 0..<file.size, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
                    try Files.overwriteInPlace(path, with: bytes)
                    expected[file.venvPath] = "modified"
                case 1 where file.size > 0:
                    try Files.overwriteInPlace(
                        path, with: try Files.read(path).prefix(Int.random(in: 0..<file.size, using: &random)))
                    expected[file.venvPath] = "truncated"
                case 2:
                    unlink(path)
                    expected[file.venvPath] = "missing"
                case 3:
                    chmod(path, mode_t(file.mode ^ 0o100))
                    expected[file.venvPath] = "metadata"
                default:
                    let extra = "\(scratch.sitePackages)/tunely/added_\(iteration)_\(created.count).py"
                    try Files.create(extra, Array("import os\n".utf8), mode: 0o644)
                    created.append(extra)
                    expected[Paths.relative(extra, to: scratch.venv)] = "extra"
                }
            }
            // Interpreter bytecode: normal beside its source, extra once the source is gone.
            let module = modules[Int.random(in: 0..<modules.count, using: &random)]
            let stem = Paths.lastComponent(of: module.venvPath).dropLast(".py".count)
            let pycache = scratch.sitePackages + "/tunely/__pycache__"
            let bytecode = pycache + "/\(stem).cpython-311.pyc"
            try FileManager.default.createDirectory(atPath: pycache, withIntermediateDirectories: true)
            try Files.create(bytecode, [0xa7, 0x0d, 0x0d, 0x0a], mode: 0o644)
            if expected[module.venvPath] == "missing" { expected[Paths.relative(bytecode, to: scratch.venv)] = "extra" }

            let report = scratch.verifier().verify()
            let cachedReport = scratch.verifier().verify(scanner: cached)

            let reported = Dictionary(uniqueKeysWithValues: report.drifts.map { ($0.venvPath, $0.kind.name) })
            #expect(reported == expected, context)
            #expect(report.failure == nil && report.warnings.isEmpty, context)
            #expect(cachedReport == report && !cached.lastScan.reusedReport, context)

            _ = try restorer.restore(report.drifts)
            for extra in created { unlink(extra) }
            removeTree(pycache)
            let healed = scratch.verifier().verify()
            usleep(30_000)
            let healedCached = scratch.verifier().verify(scanner: cached)
            let healedReused = scratch.verifier().verify(scanner: cached)
            #expect(healed.isClean, context)
            #expect(healedCached == healed && healedReused == healed && cached.lastScan.reusedReport, context)
            if reported != expected || !healed.isClean || !cached.lastScan.reusedReport { break }
        }
    }
}
