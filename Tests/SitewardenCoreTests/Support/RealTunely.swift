import Foundation
import Testing

@testable import SitewardenCore

/// The real tunely 0.2.3, installed from PyPI once per machine, and scratch venvs holding copies
/// of its files that tests may damage.
enum RealTunely {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .path
    static let installDirectory =
        ProcessInfo.processInfo.environment["SITEWARDEN_TUNELY_VENV"]
        ?? "/var/tmp/sitewarden-fixtures/tunely-0.2.3"
    static let sitePackagesSuffix = "lib/python3.11/site-packages"
    static let serverPyLines = 1361

    /// The installed venv, installing it first if needed. Fails the test with the reason when it cannot.
    static func installedVenv() throws -> String {
        let result = try Shell.run(["bash", repositoryRoot + "/Tests/fixtures/tunely-venv.sh", installDirectory])
        guard result.status == 0 else {
            throw FixtureError("could not install tunely 0.2.3 with uv: \(result.errorOutput)")
        }
        return installDirectory
    }

    /// A fresh venv-shaped directory with copies of tunely's own files (package, dist-info, console
    /// script) and a `lib64 -> lib` symlink as uv makes. Removed by the caller via `Scratch`.
    static func scratchVenv() throws -> Scratch {
        let source = try installedVenv()
        let scratch = try Scratch()
        let venv = scratch.path + "/venv"
        let sitePackages = venv + "/" + sitePackagesSuffix
        try FileManager.default.createDirectory(atPath: sitePackages, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: venv + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: venv + "/lib64", withDestinationPath: "lib")
        for item in ["tunely", "tunely-0.2.3.dist-info"] {
            try Shell.check(["cp", "-a", source + "/" + sitePackagesSuffix + "/" + item, sitePackages + "/"])
        }
        try Shell.check(["cp", "-a", source + "/bin/tunely", venv + "/bin/"])
        return scratch
    }
}

/// A temporary directory removed when the test is done with it.
final class Scratch {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "sitewarden-test-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw FixtureError("mkdtemp failed") }
        path = String(cString: created)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    var venv: String { path + "/venv" }
    var sitePackages: String { venv + "/" + RealTunely.sitePackagesSuffix }
    var backup: String { path + "/backup" }

    func verifier(version: String? = "0.2.3") -> Verifier {
        Verifier(target: "tunely", venv: venv, distribution: "tunely", version: version, backupDirectory: backup)
    }

    func recorder() -> BaselineRecorder {
        BaselineRecorder(venv: venv, distribution: "tunely", version: "0.2.3", backupDirectory: backup)
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs real processes for fixtures.
enum Shell {
    /// The pid of a process that has run and ended (and so names no process, until reused).
    static func endedProcessID() throws -> pid_t {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    struct Result {
        var status: Int32
        var output: String
        var errorOutput: String
    }

    static func run(_ arguments: [String], environment: [String: String]? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        let errorOutput = Pipe()
        process.standardOutput = output
        process.standardError = errorOutput
        try process.run()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errorOutput.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
            errorOutput: String(decoding: errorData, as: UTF8.self))
    }

    @discardableResult
    static func check(_ arguments: [String]) throws -> String {
        let result = try run(arguments)
        guard result.status == 0 else {
            throw FixtureError("\(arguments.joined(separator: " ")) exited \(result.status): \(result.errorOutput)")
        }
        return result.output
    }
}

/// File helpers for damaging and inspecting files the way the incident did.
enum Files {
    static func read(_ path: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path))
    }

    /// Rewrites `path` in place (same inode), as a broken installer would.
    static func overwriteInPlace(_ path: String, with data: Data) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: data)
        try handle.close()
    }

    /// Keeps the first `lines` lines of `path`, in place.
    static func keepFirstLines(_ path: String, _ lines: Int) throws {
        let data = try read(path)
        var kept = 0
        var end = data.startIndex
        for index in data.indices where data[index] == UInt8(ascii: "\n") {
            kept += 1
            if kept == lines {
                end = index + 1
                break
            }
        }
        try overwriteInPlace(path, with: data[..<end])
    }

    /// Creates a file with exactly `mode`, whatever the umask.
    static func create(_ path: String, _ bytes: [UInt8], mode: mode_t) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)), chmod(path, mode) == 0 else {
            throw FixtureError("could not create \(path)")
        }
    }

    /// Lines as `wc -l` counts them.
    static func lineCount(_ path: String) throws -> Int {
        try read(path).filter { $0 == UInt8(ascii: "\n") }.count
    }

    static func inode(_ path: String) -> UInt64 {
        var info = stat()
        return lstat(path, &info) == 0 ? UInt64(info.st_ino) : 0
    }

    static func sha256(_ path: String) throws -> String {
        try Shell.check(["sha256sum", path]).split(separator: " ")[0].description
    }
}

extension Scratch {
    /// Writes `config.toml` watching this scratch copy of tunely 0.2.3 and returns its path: the
    /// state directory inside the scratch, `daemon` added to `[daemon]`, `target` after the target's
    /// keys (more keys, or `[[target.route]]` tables).
    func writeConfig(daemon: String = "", target: String = "") throws -> String {
        let file = path + "/config.toml"
        let text = """
            [daemon]
            state_directory = "\(path)/state"
            \(daemon)

            [[target]]
            name = "tunely"
            venv = "\(venv)"
            distribution = "tunely"
            version = "0.2.3"
            backup = "\(backup)"
            \(target)

            """
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}
