import Foundation
import Testing

@testable import SitewardenCore

/// CASES 14 and 15 on the real tunely install: `kill -9` in the middle of a multi-file restore,
/// a disk that fills half-way, a read-only target, and owner and mode under a hostile umask.
@Suite("Restore under stress", .serialized)
struct RestoreUnderStressTests {
    static let isRoot = geteuid() == 0
    /// Under CI the root-only tests run anyway, and fail, instead of being skipped.
    static let mayRunAsRoot = isRoot || ProcessInfo.processInfo.environment["CI"] == "true"
    static let binary = RealTunely.repositoryRoot + "/.build/debug/sitewarden"
    /// The nine package modules damaged together; `__init__.py` (22 bytes) stays.
    static let modules = ["app", "cli", "client", "config", "database", "models", "protocol", "repository", "server"]

    private func configFile(_ scratch: Scratch, venv: String? = nil) throws -> String {
        let path = scratch.path + "/config.toml"
        let text = """
            [daemon]
            state_directory = "\(scratch.path)/state"

            [[target]]
            name = "tunely"
            venv = "\(venv ?? scratch.venv)"
            distribution = "tunely"
            version = "0.2.3"
            backup = "\(scratch.backup)"
            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func stagedFiles(under directory: String) -> [String] {
        let walker = FileManager.default.enumerator(atPath: directory)
        var found = [String]()
        while let name = walker?.nextObject() as? String {
            if (name as NSString).lastPathComponent.hasPrefix(StagedCopy.marker) { found.append(name) }
        }
        return found
    }

    @Test func stagedLeftoversAreRemovedOnlyByNameInsideTheVenvWithoutFollowingSymlinks() throws {
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        let package = scratch.sitePackages + "/tunely"
        let outside = scratch.path + "/precious.txt"
        try Files.create(outside, Array("keep me\n".utf8), mode: 0o644)
        try Files.create(package + "/" + StagedCopy.marker + "server.py.0a1b2c", [1, 2, 3], mode: 0o600)
        try Files.create(scratch.venv + "/bin/" + StagedCopy.marker + "tunely.ffeedd", [4], mode: 0o600)
        symlink(outside, package + "/" + StagedCopy.marker + "link")
        mkdir(package + "/" + StagedCopy.marker + "directory", 0o755)
        try Files.create(package + "/sitewarden-staged-lookalike.txt", [5], mode: 0o644)
        try Files.create(scratch.venv + "/" + StagedCopy.marker + "not-a-package-directory", [6], mode: 0o600)

        let removed = StagedLeftovers.remove(venvRoot: scratch.venv, manifest: manifest)

        #expect(
            removed.sorted() == [
                "bin/" + StagedCopy.marker + "tunely.ffeedd",
                RealTunely.sitePackagesSuffix + "/tunely/" + StagedCopy.marker + "link",
                RealTunely.sitePackagesSuffix + "/tunely/" + StagedCopy.marker + "server.py.0a1b2c",
            ])
        #expect(try Files.read(outside) == Data("keep me\n".utf8), "the symlink was removed, not followed")
        #expect(FileManager.default.fileExists(atPath: package + "/" + StagedCopy.marker + "directory"))
        #expect(FileManager.default.fileExists(atPath: package + "/sitewarden-staged-lookalike.txt"))
        #expect(
            FileManager.default.fileExists(atPath: scratch.venv + "/" + StagedCopy.marker + "not-a-package-directory"))
        #expect(scratch.verifier().verify().drifts.isEmpty)
    }

    /// 100 times: damage nine modules, start `sitewarden restore`, and `kill -9` it 0–30 ms after it
    /// announces the restore (each staging and rename step slowed a little by a test hook, so the
    /// kill lands before, during and after the renames). After each kill every file must be its
    /// damaged or its restored version, never partial; the next start removes every staged file,
    /// and a restore then leaves the package equal to the backup.
    @Test func killDashNineAtRandomPointsOfAMultiFileRestoreLeavesEveryFileOldOrNew() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build first: swift build")
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        let config = try configFile(scratch)
        let package = scratch.sitePackages + "/tunely"
        var good = [String: Data]()
        var damaged = [String: Data]()
        for module in Self.modules {
            let bytes = try Files.read(package + "/\(module).py")
            good[module] = bytes
            damaged[module] = bytes.prefix(bytes.count / 2)
        }
        var generator = SystemRandomNumberGenerator()
        var counts = (beforeRenames: 0, stagedLeft: 0, duringRenames: 0, afterRenames: 0, exitedFirst: 0)

        for run in 0..<100 {
            for module in Self.modules where try Files.read(package + "/\(module).py") != damaged[module] {
                try Files.overwriteInPlace(package + "/\(module).py", with: damaged[module]!)
            }
            let child = Process()
            child.executableURL = URL(fileURLWithPath: Self.binary)
            child.arguments = ["--config", config, "restore"]
            child.environment = ["SITEWARDEN_TEST_STEP_DELAY_US": "500", "PATH": "/usr/bin:/bin"]
            let output = Pipe()
            child.standardOutput = output
            child.standardError = FileHandle.nullDevice
            try child.run()
            // Wait for "restoring 9 file(s)", then a random 0–30 ms.
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("restoring") {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen += chunk
            }
            usleep(UInt32.random(in: 0...30_000, using: &generator))
            if kill(child.processIdentifier, SIGKILL) != 0 { counts.exitedFirst += 1 }
            child.waitUntilExit()

            var renamed = 0
            for module in Self.modules {
                let now = try Files.read(package + "/\(module).py")
                #expect(now == good[module] || now == damaged[module], "run \(run): \(module).py is partial")
                if now == good[module] { renamed += 1 }
            }
            let staged = stagedFiles(under: scratch.venv)
            switch renamed {
            case 0:
                counts.beforeRenames += 1
                if !staged.isEmpty { counts.stagedLeft += 1 }
            case Self.modules.count: counts.afterRenames += 1
            default: counts.duringRenames += 1
            }

            // The next start: leftovers removed, verified again, restored to the backup.
            _ = StagedLeftovers.remove(venvRoot: try Paths.realPath(scratch.venv), manifest: manifest)
            #expect(stagedFiles(under: scratch.venv).isEmpty, "run \(run): staged files left after cleanup")
            let drifts = scratch.verifier().verify().drifts
            #expect(Set(drifts.map(\.recordPath)).count == Self.modules.count - renamed)
            _ = try Restorer(venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest)
                .restore(drifts)
            #expect(scratch.verifier().verify().drifts.isEmpty, "run \(run): package differs from the backup")
        }

        print(
            "fault injection: 100 kill -9 runs: \(counts.beforeRenames) before any rename "
                + "(\(counts.stagedLeft) of them with staged files left), \(counts.duringRenames) during the renames, "
                + "\(counts.afterRenames) after all renames (\(counts.exitedFirst) exited before the kill); "
                + "no partial file, no staged file after cleanup")
        #expect(counts.beforeRenames + counts.duringRenames + counts.afterRenames == 100)
    }

    /// A tmpfs of `size` mounted in `scratch`, unmounted by the returned closure.
    private func mountTmpfs(_ scratch: Scratch, size: String) throws -> (path: String, unmount: () -> Void) {
        let mountPoint = scratch.path + "/small-disk"
        mkdir(mountPoint, 0o755)
        try Shell.check(["mount", "-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", mountPoint])
        return (mountPoint, { _ = try? Shell.run(["umount", "-l", mountPoint]) })
    }

    @Test(.enabled(if: mayRunAsRoot, "needs root to mount a tmpfs (skipped: not root, CI unset)"))
    func diskFillingHalfWayReplacesNothingLeavesNoStagedFileAndNamesENOSPC() throws {
        let scratch = try RealTunely.scratchVenv()
        let disk = try mountTmpfs(scratch, size: "2m")
        defer { disk.unmount() }
        let venv = disk.path + "/venv"
        try Shell.check(["cp", "-a", scratch.venv, venv])
        let recorder = BaselineRecorder(
            venv: venv, distribution: "tunely", version: "0.2.3", backupDirectory: scratch.backup)
        let manifest = try recorder.record()
        let package = venv + "/" + RealTunely.sitePackagesSuffix + "/tunely"
        var needed = 0
        var before = [String: Data]()
        for module in Self.modules {
            needed += (try Files.read(package + "/\(module).py").count + 4095) / 4096 * 4096
            try Files.overwriteInPlace(package + "/\(module).py", with: Data("# damaged\n".utf8))
            before[module] = try Files.read(package + "/\(module).py")
        }
        // Leave room for about half of the staged copies.
        var space = statvfs()
        statvfs(disk.path, &space)
        let free = Int(space.f_bavail) * Int(space.f_bsize)
        try #require(free > needed / 2)
        try Files.create(disk.path + "/filler", [UInt8](repeating: 0x55, count: free - needed / 2), mode: 0o644)
        let verifier = Verifier(
            target: "tunely", venv: venv, distribution: "tunely", version: "0.2.3", backupDirectory: scratch.backup)
        let drifts = verifier.verify().drifts
        try #require(drifts.count == Self.modules.count)

        #expect {
            try Restorer(venvRoot: venv, backupDirectory: scratch.backup, manifest: manifest).restore(drifts)
        } throws: { error in
            let text = "\(error)"
            return text.contains("No space left on device") && text.contains("/tunely/")
                && text.contains("write staged copy")
        }
        for module in Self.modules {
            #expect(try Files.read(package + "/\(module).py") == before[module], "\(module).py was partly replaced")
        }
        #expect(stagedFiles(under: venv).isEmpty)

        // With room again, the restore goes through; the quarantine on another mount gets copies.
        unlink(disk.path + "/filler")
        let outcome = try Restorer(
            venvRoot: venv, backupDirectory: scratch.backup, manifest: manifest,
            quarantine: Quarantine(stateDirectory: scratch.path + "/state", target: "tunely", limit: 1 << 30)
        ).restoreReporting(drifts)
        #expect(verifier.verify().drifts.isEmpty)
        let session = try #require(outcome.quarantineDirectory)
        let record = try JSONDecoder().decode(QuarantineRecord.self, from: Files.read(session + "/record.json"))
        #expect(record.files.map(\.kept) == Array(repeating: "copied", count: Self.modules.count), "EXDEV: copied")
        #expect(
            try Files.read(session + "/files/" + RealTunely.sitePackagesSuffix + "/tunely/server.py")
                == Data("# damaged\n".utf8))
    }

    @Test(.enabled(if: mayRunAsRoot, "needs root to bind-mount read-only (skipped: not root, CI unset)"))
    func readOnlyTargetIsAClearErrorAndNothingIsLost() throws {
        let scratch = try RealTunely.scratchVenv()
        let manifest = try scratch.recorder().record()
        let package = scratch.sitePackages + "/tunely"
        try Files.keepFirstLines(package + "/server.py", 562)
        try Files.keepFirstLines(package + "/models.py", 3)
        let damagedServer = try Files.read(package + "/server.py")
        let drifts = scratch.verifier().verify().drifts
        try Shell.check(["mount", "--bind", package, package])
        defer { _ = try? Shell.run(["umount", "-l", package]) }
        try Shell.check(["mount", "-o", "remount,bind,ro", package])

        #expect {
            try Restorer(venvRoot: scratch.venv, backupDirectory: scratch.backup, manifest: manifest).restore(drifts)
        } throws: { error in
            "\(error)".contains("Read-only file system") && "\(error)".contains("/tunely/")
        }
        #expect(try Files.read(package + "/server.py") == damagedServer)
        #expect(try Files.lineCount(package + "/models.py") == 3)
        #expect(stagedFiles(under: package).isEmpty)
    }

    @Test(.enabled(if: mayRunAsRoot, "needs root to chown to uid 1000 (skipped: not root, CI unset)"))
    func restoredFileGetsTheRecordedOwnerGroupAndModeWhateverTheUmask() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build first: swift build")
        let scratch = try RealTunely.scratchVenv()
        let server = scratch.sitePackages + "/tunely/server.py"
        try #require(chown(server, 1000, 1000) == 0 && chmod(server, 0o750) == 0)
        _ = try scratch.recorder().record()
        let good = try Files.read(server)
        // Replaced by root with root's umask, as a careless reinstall would: owner and mode drift too.
        unlink(server)
        try Files.create(server, Array(good.prefix(1000)), mode: 0o644)
        let config = try configFile(scratch)

        let result = try Shell.run(["sh", "-c", "umask 077; exec \"$0\" --config \"$1\" restore", Self.binary, config])

        #expect(result.status == 0, "\(result.output)\(result.errorOutput)")
        var info = stat()
        try #require(lstat(server, &info) == 0)
        #expect(info.st_uid == 1000 && info.st_gid == 1000)
        #expect(info.st_mode & 0o7777 == 0o750)
        #expect(try Files.read(server) == good)
        stat(scratch.venv + "/bin/tunely", &info)
        #expect(info.st_mode & 0o7777 == 0o755)
    }
}
