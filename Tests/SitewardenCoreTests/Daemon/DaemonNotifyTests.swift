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
            descriptor = try LoopbackSocket.bound(
                socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0),
                to: try LoopbackSocket.unixAddress(path), naming: path, listening: false)
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
        try scratch.writeConfig(
            daemon: "interval = \"\(interval)\"\nquiet_period = \"\(quietPeriod)\"",
            target: "[[target.route]]\nurl = \"\(route)\"\ntimeout = \"\(probeTimeout)\"")
    }

    private func launch(
        config: String, notify: NotifySocket, watchdogMicroseconds: Int?, watchdogPID: Int32? = nil,
        hangAfterCycles: Int? = nil, readDelayMicroseconds: Int? = nil
    ) throws -> Process {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            throw FixtureError("no daemon binary at \(Self.binary): run swift build --build-tests first")
        }
        var environment = ["NOTIFY_SOCKET": notify.path, "PATH": "/usr/bin:/bin"]
        if let watchdogMicroseconds { environment["WATCHDOG_USEC"] = "\(watchdogMicroseconds)" }
        if let watchdogPID { environment["WATCHDOG_PID"] = "\(watchdogPID)" }
        if let hangAfterCycles { environment["SITEWARDEN_TEST_HANG_AFTER_CYCLES"] = "\(hangAfterCycles)" }
        if let readDelayMicroseconds { environment["SITEWARDEN_TEST_READ_DELAY_US"] = "\(readDelayMicroseconds)" }
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

    /// CASES.md 11: `WatchdogSec=5`, 20,000 files and a 2 GiB file, reads throttled.
    @Test func slowFirstScanOfManyFilesAndAHugeOneKeepsTheWatchdogFedUntilReady() throws {
        let scratch = try RealTunely.scratchVenv()
        let bulky = try Self.installBulkyDistribution(in: scratch.sitePackages, files: 20_000, hugeBytes: 2 << 30)
        let config = scratch.path + "/bulky.toml"
        try """
        [daemon]
        interval = "1h"
        workers = 1
        state_directory = "\(scratch.path)/state"

        [[target]]
        name = "bulky"
        venv = "\(scratch.venv)"
        distribution = "bulky"
        version = "1.0"
        backup = "\(scratch.path)/backup-bulky"
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let notify = try NotifySocket(in: scratch.path)
        let started = ContinuousClock.now

        let process = try launch(
            config: config, notify: notify, watchdogMicroseconds: 5_000_000, readDelayMicroseconds: 100)
        var messages = [(message: String, at: ContinuousClock.Instant)]()
        while !messages.contains(where: { $0.message.hasPrefix("READY=1") })
            && started.duration(to: .now) < .seconds(90)
        {
            messages += notify.receive(until: .now + .seconds(1))
        }
        let running = process.isRunning
        process.terminate()
        process.waitUntilExit()

        let ready = try #require(messages.firstIndex { $0.message.hasPrefix("READY=1") })
        let beforeReady = messages[..<ready]
        let pings = [started] + beforeReady.filter { $0.message == "WATCHDOG=1" }.map(\.at) + [messages[ready].at]
        let longestGap = zip(pings, pings.dropFirst()).map { $0.duration(to: $1) }.max() ?? .zero
        #expect(running, "alive at READY")
        #expect(started.duration(to: messages[ready].at) > .seconds(5), "the first scan was slow enough to matter")
        #expect(beforeReady.contains { $0.message.hasPrefix("EXTEND_TIMEOUT_USEC=") })
        #expect(longestGap < .seconds(5), "no gap of WatchdogSec between pings: \(longestGap)")
        #expect(messages[ready].message.contains("bulky: healthy (\(bulky) files"))
    }

    /// A distribution of `files` small modules in 100 packages and one sparse file of `hugeBytes`,
    /// with a RECORD that vouches for all of them. Returns how many files RECORD lists with a hash.
    private static func installBulkyDistribution(in sitePackages: String, files: Int, hugeBytes: Int) throws -> Int {
        var record = ""
        for number in 0..<files {
            let path = "bulky/package\(number % 100)/module\(number).py"
            let bytes = Array("value = \(number)\n".utf8)
            if number < 100 {
                try FileManager.default.createDirectory(
                    atPath: sitePackages + "/bulky/package\(number)", withIntermediateDirectories: true)
            }
            try Files.create(sitePackages + "/" + path, bytes, mode: 0o644)
            record += "\(path),\(SmallDistribution.canonicalHash(bytes)),\(bytes.count)\n"
        }
        let huge = sitePackages + "/bulky/data.bin"
        try Files.create(huge, [], mode: 0o644)
        guard truncate(huge, off_t(hugeBytes)) == 0 else { throw FixtureError("cannot make \(huge) sparse") }
        let hasher = SHA256Hasher()
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        for _ in 0..<(hugeBytes >> 20) { zeros.withUnsafeBytes { hasher.update($0) } }
        record += "bulky/data.bin,\(RecordHash(sha256: hasher.finish()).recordField),\(hugeBytes)\n"
        let distInfo = sitePackages + "/bulky-1.0.dist-info"
        try FileManager.default.createDirectory(atPath: distInfo, withIntermediateDirectories: true)
        try Files.create(
            distInfo + "/METADATA", Array("Metadata-Version: 2.1\nName: bulky\nVersion: 1.0\n".utf8), mode: 0o644)
        record += "bulky-1.0.dist-info/METADATA,,\nbulky-1.0.dist-info/RECORD,,\n"
        try Files.create(distInfo + "/RECORD", Array(record.utf8), mode: 0o644)
        return files + 2
    }

    @Test func aStateDirectoryThatDoesNotExistYetIsMadeAndKeepsTheScanCacheAndSnapshot() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let server = try LoopbackHTTPServer { _ in .respond(status: 200, body: "ok") }
        let notify = try NotifySocket(in: scratch.path)
        let state = scratch.path + "/state"
        let existedBefore = FileManager.default.fileExists(atPath: state)

        let process = try launch(
            config: try writeConfig(scratch, route: "http://127.0.0.1:\(server.port)/"), notify: notify,
            watchdogMicroseconds: nil)
        _ = notify.receive(until: .now + .seconds(4))
        process.terminate()
        process.waitUntilExit()

        #expect(!existedBefore)
        #expect(FileManager.default.fileExists(atPath: state + "/scan-cache/tunely.bin"))
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
