import Foundation
import Testing

@testable import SitewardenCore

/// What an operator sees beyond the exit code: colour only at a terminal and never with NO_COLOR,
/// `status` for a user who is not root, and the states `status` names.
@Suite("Output for the person on call", .serialized)
struct OperatorOutputTests {
    /// Runs the binary on a pseudo-terminal (util-linux `script`), as at an operator's shell.
    static func atATerminal(_ arguments: [String], noColor: Bool) throws -> Shell.Result {
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = noColor ? "1" : nil
        environment["TERM"] = "xterm"
        let command = ([CommandLineTests.binary] + arguments).map { "'\($0)'" }.joined(separator: " ")
        return try Shell.run(
            ["script", "--quiet", "--return", "--command", command, "/dev/null"], environment: environment)
    }

    @Test func colourAtATerminalUnlessNoColorIsSet() throws {
        let scratch = try RealTunely.scratchVenv()
        let config = try CommandLineTests.writeConfig(scratch)
        _ = try CommandLineTests.sitewarden(["-c", config, "baseline"])
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)

        let coloured = try Self.atATerminal(["-c", config, "check"], noColor: false)
        let plain = try Self.atATerminal(["-c", config, "check"], noColor: true)
        let json = try Self.atATerminal(["-c", config, "check", "--json"], noColor: false)

        #expect(coloured.status == 1 && plain.status == 1)
        #expect(coloured.output.contains("\u{1B}[31mdrift\u{1B}[0m (exit 1)"))
        #expect(!plain.output.contains("\u{1B}["))
        #expect(plain.output.contains("result: drift (exit 1)"))
        #expect(!json.output.contains("\u{1B}["))
    }

    @Test func statusWorksForAnUnprivilegedUserWhoMayReadTheStateDirectory() throws {
        let scratch = try RealTunely.scratchVenv()
        let config = try CommandLineTests.writeConfig(scratch)
        let monitor = TargetMonitor(
            target: try ConfigLoader.load(path: config).targets[0], events: DiscardingSink())
        _ = monitor.runCycle(repair: false, services: nil)
        StatusFile(directory: scratch.path + "/state").write(monitors: [monitor], cycles: 1)
        // Scratch directories are made 0700; open the way to the configuration and the status file.
        for path in [scratch.path, scratch.path + "/state"] { chmod(path, 0o755) }
        chmod(config, 0o644)

        let result = try Shell.run([
            "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", CommandLineTests.binary, "-c", config,
            "status",
        ])

        // The status file was written by this test's process, which is alive, and just now.
        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(result.output.contains("\ntunely  healthy  "))
    }

    @Test func statesShowARestoreAndObserveOnlyDrift() {
        #expect(TargetState(health: .drifted, mode: .repair, restoring: true) == .restoring)
        #expect(TargetState(health: .drifted, mode: .observe, restoring: false) == .observeOnly)
        #expect(TargetState(health: .healthy, mode: .observe, restoring: false) == .healthy)
        #expect(TargetState(health: .flapping, mode: .repair, restoring: false) == .flapping)
        #expect(TargetState(health: .degraded, mode: .repair, restoring: false) == .degraded)
    }
}

@Suite("The progress line of long commands")
struct ProgressLineTests {
    /// What the line drew, collected from its drawing queue.
    final class Screen: @unchecked Sendable {
        private let lock = NSLock()
        private var text = ""
        func append(_ more: String) { lock.withLock { text += more } }
        var contents: String { lock.withLock { text } }
    }

    @Test func longWorkIsShownWithItsTimeAndErasedAfterwards() {
        let screen = Screen()
        let progress = ProgressLine(enabled: true, write: { screen.append($0) })

        let result = progress.during("tunely: checking files") { () -> Int in
            usleep(900_000)
            return 42
        }

        #expect(result == 42)
        // Drawn first after half a second (the tenths depend on the machine's load).
        #expect(screen.contents.hasPrefix("\r\u{1B}[K⠋ tunely: checking files (0."))
        #expect(screen.contents.hasSuffix("\r\u{1B}[K"))
    }

    @Test func quickWorkDrawsNothing() {
        let screen = Screen()
        let progress = ProgressLine(enabled: true, write: { screen.append($0) })

        progress.during("tunely: checking files") { usleep(50_000) }

        #expect(screen.contents.isEmpty)
    }

    @Test func notATerminalDrawsNothing() {
        let screen = Screen()
        let progress = ProgressLine(enabled: false, write: { screen.append($0) })

        progress.during("tunely: checking files") { usleep(700_000) }

        #expect(screen.contents.isEmpty)
    }
}
