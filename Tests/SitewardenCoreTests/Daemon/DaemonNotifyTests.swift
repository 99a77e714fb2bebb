import Foundation
import Testing

@testable import SitewardenCore

/// The daemon binary talking sd_notify to a real AF_UNIX datagram socket, as systemd's own
/// notify socket receives it (shared/SYSTEMD.md, "fake notify socket").
@Suite("The daemon's sd_notify conversation", .serialized)
struct DaemonNotifyTests {
    static let binary = RealTunely.repositoryRoot + "/.build/debug/sitewarden"

    /// A bound datagram socket collecting what the daemon sends.
    final class NotifySocket {
        let path: String
        private let descriptor: Int32

        init(in directory: String) throws {
            path = directory + "/notify"
            descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard descriptor >= 0, bound == 0 else { throw FixtureError("cannot bind \(path)") }
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(descriptor) }

        /// Messages received until `deadline`, each with its arrival time.
        func receive(until deadline: ContinuousClock.Instant) -> [(message: String, at: ContinuousClock.Instant)] {
            var received = [(String, ContinuousClock.Instant)]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while ContinuousClock.now < deadline {
                let count = recv(descriptor, &buffer, buffer.count, 0)
                if count > 0 { received.append((String(decoding: buffer[0..<count], as: UTF8.self), .now)) }
            }
            return received
        }
    }

    private func writeConfig(
        _ scratch: Scratch, route: String, interval: String = "1s", quietPeriod: String = "2s",
        probeTimeout: String = "1s"
    ) throws -> String {
        let path = scratch.path + "/config.toml"
        let text = """
            [daemon]
            interval = "\(interval)"
            quiet_period = "\(quietPeriod)"
            state_directory = "\(scratch.path)/state"

            [[target]]
            name = "tunely"
            venv = "\(scratch.venv)"
            distribution = "tunely"
            version = "0.2.3"
            backup = "\(scratch.backup)"

            [[target.route]]
            url = "\(route)"
            timeout = "\(probeTimeout)"
            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func launch(
        config: String, notify: NotifySocket, watchdogMicroseconds: Int?, watchdogPID: Int32? = nil,
        hangAfterCycles: Int? = nil
    ) throws -> Process {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw FixtureError("no daemon binary at \(Self.binary): run swift build --build-tests first")
        }
        var environment = ["NOTIFY_SOCKET": notify.path, "PATH": "/usr/bin:/bin"]
        if let watchdogMicroseconds { environment["WATCHDOG_USEC"] = "\(watchdogMicroseconds)" }
        if let watchdogPID { environment["WATCHDOG_PID"] = "\(watchdogPID)" }
        if let hangAfterCycles { environment["SITEWARDEN_TEST_HANG_AFTER_CYCLES"] = "\(hangAfterCycles)" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--config", config, "run"]
        process.environment = environment
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    @Test func readyAfterFirstVerificationThenWatchdogAtHalfIntervalThenStoppingOnSIGTERM() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: "Tunely Server") }
        let notify = try NotifySocket(in: scratch.path)
        let process = try launch(
            config: try writeConfig(scratch, route: "http://127.0.0.1:\(server.port)/api/info"), notify: notify,
            watchdogMicroseconds: 500_000)

        let running = notify.receive(until: .now + .seconds(3))
        process.terminate()
        let stopping = notify.receive(until: .now + .seconds(1))
        process.waitUntilExit()

        let ready = try #require(running.firstIndex { $0.message.hasPrefix("READY=1") })
        #expect(running[ready].message.contains("STATUS=tunely: healthy (18 files, 1/1 routes ok)"))
        let pings = running.filter { $0.message == "WATCHDOG=1" }.map(\.at)
        #expect(pings.count >= 8, "expected a ping every 250 ms for 3 s, got \(pings.count)")
        let gaps = zip(pings.dropFirst(), pings).map { $0 - $1 }
        #expect(gaps.allSatisfy { $0 < .milliseconds(400) }, "ping gaps \(gaps)")
        #expect(stopping.contains { $0.message == "STOPPING=1" })
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: scratch.path + "/state/status.json"))
    }

    @Test func changedFileIsCheckedAndRestoredAfterTheQuietPeriodWithoutWaitingForTheInterval() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: "Tunely Server") }
        let notify = try NotifySocket(in: scratch.path)
        let serverPy = scratch.sitePackages + "/tunely/server.py"
        let knownGood = try Files.sha256(serverPy)
        let process = try launch(
            config: try writeConfig(
                scratch, route: "http://127.0.0.1:\(server.port)/api/info", interval: "1h", quietPeriod: "300ms"),
            notify: notify, watchdogMicroseconds: nil)
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let started = notify.receive(until: .now + .seconds(2))
        try #require(started.contains { $0.message.hasPrefix("READY=1") })

        try Files.keepFirstLines(serverPy, 562)
        let afterDamage = notify.receive(until: .now + .seconds(4))

        #expect(afterDamage.contains { $0.message.hasPrefix("STATUS=") }, "a cycle ran long before the 1h interval")
        #expect(try Files.sha256(serverPy) == knownGood)
        #expect(try Files.lineCount(serverPy) == RealTunely.serverPyLines)
    }

    @Test func noWatchdogPingsWhenTheWatchdogIsOff() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: "ok") }
        let notify = try NotifySocket(in: scratch.path)
        let process = try launch(
            config: try writeConfig(scratch, route: "http://127.0.0.1:\(server.port)/"), notify: notify,
            watchdogMicroseconds: nil)

        let running = notify.receive(until: .now + .seconds(2))
        process.terminate()
        process.waitUntilExit()

        #expect(running.contains { $0.message.hasPrefix("READY=1") })
        #expect(!running.contains { $0.message == "WATCHDOG=1" })
    }

    @Test func badConfigurationExits78WithoutReady() throws {
        let scratch = try Scratch()
        let config = scratch.path + "/config.toml"
        try "[daemon]\nintervall = \"1s\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let notify = try NotifySocket(in: scratch.path)

        let process = try launch(config: config, notify: notify, watchdogMicroseconds: nil)
        process.waitUntilExit()

        #expect(process.terminationStatus == 78)
        #expect(!notify.receive(until: .now + .milliseconds(300)).contains { $0.message.hasPrefix("READY=1") })
    }

    @Test func slowFirstVerificationExtendsTheStartTimeoutUntilReady() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        // A route that never answers keeps the first cycle busy for its 7 s timeout.
        let server = try LoopbackHTTPServer { _ in .silence }
        let notify = try NotifySocket(in: scratch.path)
        let process = try launch(
            config: try writeConfig(
                scratch, route: "http://127.0.0.1:\(server.port)/", interval: "1h", probeTimeout: "7s"),
            notify: notify, watchdogMicroseconds: nil)

        let messages = notify.receive(until: .now + .seconds(9))
        process.terminate()
        process.waitUntilExit()

        let ready = try #require(messages.firstIndex { $0.message.hasPrefix("READY=1") })
        let extensions = messages[..<ready].filter { $0.message == "EXTEND_TIMEOUT_USEC=15000000" }
        #expect(extensions.count >= 1)
        #expect(!messages[ready...].contains { $0.message.hasPrefix("EXTEND_TIMEOUT_USEC") })
    }

    @Test func watchdogMeantForAnotherProcessGetsNoPings() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: "ok") }
        let notify = try NotifySocket(in: scratch.path)
        // WATCHDOG_PID names this test process, not the daemon: sd_watchdog_enabled says no.
        let process = try launch(
            config: try writeConfig(scratch, route: "http://127.0.0.1:\(server.port)/"), notify: notify,
            watchdogMicroseconds: 500_000, watchdogPID: getpid())

        let running = notify.receive(until: .now + .seconds(2))
        process.terminate()
        process.waitUntilExit()

        #expect(running.contains { $0.message.hasPrefix("READY=1") })
        #expect(!running.contains { $0.message == "WATCHDOG=1" })
    }

    @Test func wedgedCycleStopsThePingsThenTriggersTheWatchdog() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: "ok") }
        let notify = try NotifySocket(in: scratch.path)
        let process = try launch(
            config: try writeConfig(scratch, route: "http://127.0.0.1:\(server.port)/", interval: "200ms"),
            notify: notify, watchdogMicroseconds: 400_000, hangAfterCycles: 1)

        let messages = notify.receive(until: .now + .seconds(3))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()

        let trigger = try #require(messages.firstIndex { $0.message == "WATCHDOG=trigger" })
        let lastPing = try #require(messages.lastIndex { $0.message == "WATCHDOG=1" })
        #expect(lastPing < trigger)
        #expect(messages[lastPing].at.duration(to: messages[trigger].at) >= .milliseconds(300))
    }
}
