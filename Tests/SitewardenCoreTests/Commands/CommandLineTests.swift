import Foundation
import Testing

@testable import SitewardenCore

/// The `sitewarden` binary as an operator runs it: real processes, on the real tunely 0.2.3,
/// every command's output and exit code, the JSON documents checked against docs/*.schema.json.
@Suite("The command line, end to end", .serialized)
struct CommandLineTests {
    static let binary = RealTunely.repositoryRoot + "/.build/debug/sitewarden"
    static let checkSchema = RealTunely.repositoryRoot + "/docs/check.schema.json"
    static let statusSchema = RealTunely.repositoryRoot + "/docs/status.schema.json"

    static func sitewarden(_ arguments: [String]) throws -> Shell.Result {
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = nil
        return try Shell.run([binary] + arguments, environment: environment)
    }

    /// A configuration for the scratch venv; `extra` goes into the target table.
    static func writeConfig(_ scratch: Scratch, daemon: String = "", extra: String = "") throws -> String {
        try scratch.writeConfig(daemon: "interval = \"1s\"\n" + daemon, target: extra)
    }

    static func schemaProblems(_ output: String, _ schema: String) throws -> [String] {
        try JSONSchemaValidator(schemaFile: schema).problems(in: Data(output.utf8))
    }

    static func object(_ output: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] ?? [:]
    }

    @Test func versionAndHelpExitZero() throws {
        let version = try Self.sitewarden(["--version"])
        let overview = try Self.sitewarden(["--help"])
        let helpCheck = try Self.sitewarden(["help", "check"])
        let checkHelp = try Self.sitewarden(["check", "--help"])

        #expect(version.status == 0 && version.output == "sitewarden \(sitewardenVersion)\n")
        #expect(overview.status == 0)
        for command in Arguments.Command.allCases { #expect(overview.output.contains("  \(command.rawValue) ")) }
        #expect(helpCheck.status == 0 && helpCheck.output == checkHelp.output)
        #expect(helpCheck.output.hasPrefix("usage: sitewarden [--config PATH] check [--full] [--json] [TARGET...]"))
    }

    @Test func usageErrorsExit64WithASuggestion() throws {
        let result = try Self.sitewarden(["chek"])

        #expect(result.status == 64)
        #expect(
            result.errorOutput
                == "sitewarden: unknown command chek; did you mean check?\n"
                + "Try 'sitewarden --help' or 'sitewarden help COMMAND'.\n")
        #expect(result.output.isEmpty)
    }

    @Test func checkConfigListsTheDropInsAndWritesNothing() throws {
        let scratch = try RealTunely.scratchVenv()
        let config = try Self.writeConfig(scratch)
        try FileManager.default.createDirectory(atPath: scratch.path + "/conf.d", withIntermediateDirectories: true)
        try """
        [[target]]
        name = "tunely-fixture"
        venv = "\(RealTunely.installDirectory)"
        distribution = "tunely"
        backup = "\(scratch.path)/backup-fixture"
        mode = "observe"
        """.write(toFile: scratch.path + "/conf.d/50-fixture.toml", atomically: true, encoding: .utf8)

        let result = try Self.sitewarden(["--config", config, "check-config"])

        #expect(result.status == 0, "\(result.errorOutput)")
        #expect(
            result.output.hasPrefix("\(config): valid (2 file(s): \(config), \(scratch.path)/conf.d/50-fixture.toml)"))
        #expect(result.output.contains("  tunely: tunely 0.2.3 in \(scratch.venv)"))
        #expect(result.output.contains("  tunely-fixture: tunely (any version) in \(RealTunely.installDirectory)"))
        #expect(result.output.contains("note: no baseline in \(scratch.backup) yet"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/state"))
        #expect(!FileManager.default.fileExists(atPath: scratch.backup))
    }

    @Test func checkConfigRefusesAStateDirectoryOrBackupThatIsARegularFile() throws {
        let scratch = try Scratch()
        let config = scratch.path + "/config.toml"
        try "not a directory\n".write(toFile: scratch.path + "/state", atomically: true, encoding: .utf8)
        try "not a directory\n".write(toFile: scratch.path + "/backup", atomically: true, encoding: .utf8)
        try """
        [daemon]
        state_directory = "\(scratch.path)/state"

        [[target]]
        name = "tunely"
        venv = "\(RealTunely.installDirectory)"
        distribution = "tunely"
        backup = "\(scratch.path)/backup"
        """.write(toFile: config, atomically: true, encoding: .utf8)

        let result = try Self.sitewarden(["--config", config, "check-config"])

        #expect(result.status == 78)
        #expect(
            result.errorOutput.split(separator: "\n").map(String.init) == [
                "\(config):2:19: daemon.state_directory: '\(scratch.path)/state' exists but is not a directory",
                "\(config):8:10: target[0].backup: '\(scratch.path)/backup' exists but is not a directory",
                "sitewarden: 2 problem(s); the configuration is not valid",
            ])
    }

    @Test func checkConfigReportsEveryProblemInEveryFileAtOnce() throws {
        let scratch = try Scratch()
        let config = scratch.path + "/config.toml"
        try "[daemon]\nintervall = \"30s\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: scratch.path + "/conf.d", withIntermediateDirectories: true)
        let dropIn = scratch.path + "/conf.d/10-bad.toml"
        try """
        [[target]]
        name = "tunely"
        venv = "\(scratch.path)/no-such-venv"
        distribution = "tunely"
        backup = "\(scratch.path)/backup"
        unit = "as-dispatch"
        """.write(toFile: dropIn, atomically: true, encoding: .utf8)

        let strict = try Self.sitewarden(["--config", config, "check-config"])
        let daemonView = try Self.sitewarden(["--config", config, "check"])

        #expect(strict.status == 78)
        #expect(
            strict.errorOutput.split(separator: "\n").map(String.init) == [
                "\(config):2:1: unknown key 'intervall' in [daemon]; did you mean 'interval'?",
                "\(dropIn):3:8: target[0].venv: '\(scratch.path)/no-such-venv' does not exist or cannot be reached "
                    + "(stat: No such file or directory)",
                "\(dropIn):6:8: target[0].unit: must name a service unit ending in '.service', found 'as-dispatch'",
                "sitewarden: 3 problem(s); the configuration is not valid",
            ])
        // The daemon's own load does not require the venv: a venv missing for a while is reported, not fatal.
        #expect(daemonView.status == 78)
        #expect(!daemonView.errorOutput.contains("no-such-venv"))
    }

    @Test func checkBaselineAndRestoreOnTheRealTunely() throws {
        let scratch = try RealTunely.scratchVenv()
        let config = try Self.writeConfig(scratch)
        let server = scratch.sitePackages + "/tunely/server.py"

        let baseline = try Self.sitewarden(["-c", config, "baseline"])
        let healthy = try Self.sitewarden(["-c", config, "check"])
        try Files.keepFirstLines(server, 562)
        let drifted = try Self.sitewarden(["-c", config, "check", "tunely"])
        let json = try Self.sitewarden(["-c", config, "check", "--json"])
        let dryRun = try Self.sitewarden(["-c", config, "restore", "--dry-run"])
        let linesAfterDryRun = try Files.lineCount(server)
        let restore = try Self.sitewarden(["-c", config, "restore"])
        let afterRestore = try Self.sitewarden(["-c", config, "check", "--full"])

        #expect(baseline.status == 0)
        #expect(baseline.output.hasPrefix("tunely: baseline of tunely 0.2.3 recorded in \(scratch.backup) (18 files, "))
        #expect(healthy.status == 0)
        #expect(healthy.output.contains("  files:   18 checked in "))
        #expect(healthy.output.hasSuffix("result: healthy (exit 0)\n"))
        #expect(drifted.status == 1)
        #expect(
            drifted.output.contains("tunely/server.py: truncated, prefix of the known-good file, 562 of 1361 lines"))
        #expect(drifted.output.hasSuffix("result: drift (exit 1)\n"))
        // Not a terminal: no colour.
        #expect(!drifted.output.contains("\u{1B}") && !drifted.errorOutput.contains("\u{1B}"))
        #expect(json.status == 1)
        #expect(try Self.schemaProblems(json.output, Self.checkSchema) == [])
        let document = try Self.object(json.output)
        let target = (document["targets"] as? [[String: Any]])?.first
        let drift = (target?["drifts"] as? [[String: Any]])?.first
        #expect(document["exit_code"] as? Int == 1 && document["result"] as? String == "drift")
        #expect(target?["state"] as? String == "drifted" && target?["files_checked"] as? Int == 18)
        #expect(drift?["file"] as? String == "tunely/server.py" && drift?["kind"] as? String == "truncated")
        #expect(dryRun.status == 1)
        #expect(dryRun.output.contains("tunely: would restore from \(scratch.backup) (backup verified):"))
        #expect(linesAfterDryRun == 562)
        #expect(restore.status == 0, "\(restore.output)\(restore.errorOutput)")
        // Each step printed once; without a journal it is not repeated on stderr as a syslog line.
        #expect(restore.output.components(separatedBy: "tunely: restored tunely/server.py").count == 2)
        if access("/run/systemd/journal/socket", F_OK) != 0 {
            #expect(!restore.errorOutput.contains("tunely/server.py"), "\(restore.errorOutput)")
        }
        #expect(try Files.lineCount(server) == RealTunely.serverPyLines)
        #expect(afterRestore.status == 0)
    }

    @Test func checkExitsTwoForAFailedRouteAndThreeForAMissingVenv() throws {
        let scratch = try RealTunely.scratchVenv()
        let config = try Self.writeConfig(
            scratch, extra: "\n[[target.route]]\nurl = \"http://127.0.0.1:1/api/info\"\ntimeout = \"1s\"")
        _ = try Self.sitewarden(["-c", config, "baseline"])

        let probeFailure = try Self.sitewarden(["-c", config, "check"])
        try FileManager.default.removeItem(atPath: scratch.venv)
        let missing = try Self.sitewarden(["-c", config, "check", "--json"])

        #expect(probeFailure.status == 2)
        #expect(probeFailure.output.contains("  route:   FAIL GET http://127.0.0.1:1/api/info"))
        #expect(probeFailure.output.hasSuffix("result: probe failure (exit 2)\n"))
        #expect(missing.status == 3)
        #expect(try Self.schemaProblems(missing.output, Self.checkSchema) == [])
        let target = (try Self.object(missing.output)["targets"] as? [[String: Any]])?.first
        #expect(target?["state"] as? String == "degraded" && target?["problem"] as? String != nil)
    }

    /// The dynamic loader's own account (`LD_DEBUG=libs`) of whether libcurl was initialised.
    @Test func onlyACheckWithARouteLoadsLibcurl() throws {
        let scratch = try RealTunely.scratchVenv()
        func loadsLibcurl(_ config: String) throws -> (status: Int32, loaded: Bool) {
            var environment = ProcessInfo.processInfo.environment
            environment["NOTIFY_SOCKET"] = nil
            environment["LD_DEBUG"] = "libs"
            let result = try Shell.run([Self.binary, "-c", config, "check"], environment: environment)
            return (result.status, result.errorOutput.contains("calling init: /lib/x86_64-linux-gnu/libcurl.so.4"))
        }

        let plain = try loadsLibcurl(try Self.writeConfig(scratch))
        let probing = try loadsLibcurl(
            try Self.writeConfig(
                scratch, extra: "\n[[target.route]]\nurl = \"http://127.0.0.1:1/api/info\"\ntimeout = \"1s\""))

        // No baseline yet: RECORD alone judges the pristine copy healthy.
        #expect(plain.status == 0 && !plain.loaded)
        #expect(probing.status == 2 && probing.loaded)
    }

    /// libcurl hidden in a private mount namespace (`/dev/null` bound over it), as on a server
    /// where libcurl4 was never installed: the files are still verified, every probe says why.
    @Test(
        .enabled(
            if: RestoreUnderStressTests.mayRunAsRoot, "needs root for a mount namespace (skipped: not root, CI unset)"))
    func withoutLibcurlTheFilesAreStillVerifiedAndEveryProbeSaysWhy() throws {
        let scratch = try RealTunely.scratchVenv()
        let config = try Self.writeConfig(
            scratch, extra: "\n[[target.route]]\nurl = \"http://127.0.0.1:1/api/info\"\ntimeout = \"1s\"")
        _ = try Self.sitewarden(["-c", config, "baseline"])
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        let library = "/usr/lib/x86_64-linux-gnu/libcurl.so.4"
        func hidden(_ arguments: [String]) throws -> Shell.Result {
            var environment = ProcessInfo.processInfo.environment
            environment["NOTIFY_SOCKET"] = nil
            return try Shell.run(
                ["unshare", "-m", "sh", "-c", "mount --bind /dev/null \(library) && exec \"$@\"", "sh", Self.binary]
                    + arguments, environment: environment)
        }

        let check = try hidden(["-c", config, "check"])
        let checkConfig = try hidden(["-c", config, "check-config"])

        #expect(check.status == 1, "drift outranks the probe failure: \(check.output)\(check.errorOutput)")
        #expect(check.output.contains("tunely/server.py: truncated, prefix of the known-good file, 562 of 1361 lines"))
        // The loader names the file it found, here by the merged /usr's /lib.
        #expect(check.output.contains("could not set up libcurl: dlopen(libcurl.so.4): /"))
        #expect(check.output.contains("/libcurl.so.4: file too short"))
        #expect(checkConfig.status == 0)
        #expect(checkConfig.output.contains("warning: routes are configured, but libcurl.so.4 cannot be loaded (/"))
        #expect(checkConfig.output.contains("/libcurl.so.4: file too short): every probe fails until it can"))
    }

    /// As the daemon's repair does: extras go into the quarantine when that is configured, also
    /// when nothing else drifted, and are not said to be left in place.
    @Test func restoreMovesExtrasIntoTheQuarantineEvenWhenTheyAreTheOnlyDrift() throws {
        let scratch = try RealTunely.scratchVenv()
        let config = try Self.writeConfig(scratch, extra: "mode = \"repair\"\nquarantine_extras = true")
        _ = try Self.sitewarden(["-c", config, "baseline"])
        let legacy = scratch.sitePackages + "/tunely/legacy.py"
        try Files.create(legacy, Array("import os\n".utf8), mode: 0o644)

        let restore = try Self.sitewarden(["-c", config, "restore"])
        let after = try Self.sitewarden(["-c", config, "check"])

        #expect(restore.status == 0, "\(restore.output)\(restore.errorOutput)")
        #expect(!restore.output.contains("left in place"), "\(restore.output)")
        #expect(!FileManager.default.fileExists(atPath: legacy))
        #expect(after.status == 0, "\(after.output)")
    }

    /// An operator can see the fast path work: what was hashed, what the scan cache vouched for,
    /// and when the last report stood because nothing it read had changed.
    @Test func checkSaysWhatTheScanCacheSparedIt() throws {
        let scratch = try RealTunely.scratchVenv()
        let config = try Self.writeConfig(scratch)
        // No state directory yet: check makes it, as the daemon does. The copy's files are older
        // than the racy window (2 s) by then, so that they are remembered.
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/state"))
        usleep(2_100_000)

        let first = try Self.sitewarden(["-c", config, "check"])
        let second = try Self.sitewarden(["-c", config, "check"])
        // A file replaced by an identical copy: new inode and ctime, the same bytes.
        let cli = scratch.sitePackages + "/tunely/cli.py"
        let text = try Files.read(cli)
        try FileManager.default.removeItem(atPath: cli)
        try text.write(to: URL(fileURLWithPath: cli))
        let third = try Self.sitewarden(["-c", config, "check"])
        let full = try Self.sitewarden(["-c", config, "check", "--full"])

        #expect(first.output.contains("  files:   17 checked in "))
        #expect(first.output.contains("(all 17 hashed: the periodic full rehash, or no usable scan cache), 0 drifted"))
        #expect(second.output.contains("(nothing changed since the last check: its report stands), 0 drifted"))
        #expect(third.output.contains("(1 hashed, 16 unchanged since the scan cache), 0 drifted"), "\(third.output)")
        #expect(full.output.contains("  files:   17 checked in ") && !full.output.contains("hashed"))
    }

    @Test func checkRemovesWhatAKilledCheckLeftHalfWrittenButNotWhatARunningOneWrites() throws {
        let scratch = try RealTunely.scratchVenv()
        let config = try Self.writeConfig(scratch)
        let directory = scratch.path + "/state/" + ScanCache.directoryName
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ended = try Shell.endedProcessID()
        let leftover = directory + "/tunely.bin.tmp.\(ended)"
        let inProgress = directory + "/other.bin.tmp.\(getpid())"
        try Files.create(leftover, [1], mode: 0o600)
        try Files.create(inProgress, [1], mode: 0o600)

        let result = try Self.sitewarden(["-c", config, "check"])

        #expect(result.status == 0, "\(result.output)\(result.errorOutput)")
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(FileManager.default.fileExists(atPath: inProgress))
    }

    @Test func baselineOfADamagedInstallIsRefusedWithExitThree() throws {
        let scratch = try RealTunely.scratchVenv()
        let config = try Self.writeConfig(scratch)
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)

        let result = try Self.sitewarden(["-c", config, "baseline"])

        #expect(result.status == 3)
        #expect(result.errorOutput.contains("tunely: baseline not recorded: "))
        #expect(!FileManager.default.fileExists(atPath: scratch.backup + "/manifest.json"))
    }

    @Test func statusWithoutADaemonIsCannotVerifyInTextAndJSON() throws {
        let scratch = try RealTunely.scratchVenv()
        let config = try Self.writeConfig(scratch)

        let text = try Self.sitewarden(["-c", config, "status"])
        let json = try Self.sitewarden(["-c", config, "status", "--json"])

        #expect(text.status == 3)
        #expect(text.errorOutput.hasPrefix("no status from a running daemon: open \(scratch.path)/state/status.json: "))
        #expect(json.status == 3)
        #expect(try Self.schemaProblems(json.output, Self.statusSchema) == [])
        #expect(try Self.object(json.output)["stale"] as? String != nil)
    }

    @Test func statusAndMetricsOfARunningDaemon() throws {
        let scratch = try RealTunely.scratchVenv()
        let metrics = scratch.path + "/metrics"
        try FileManager.default.createDirectory(atPath: metrics, withIntermediateDirectories: true)
        // Port 1 on loopback refuses: the route fails, so the target is probe-failing (exit 2).
        let config = try Self.writeConfig(
            scratch, daemon: "metrics_file = \"\(metrics)/sitewarden.prom\"",
            extra: "\n[[target.route]]\nurl = \"http://127.0.0.1:1/api/info\"\ntimeout = \"1s\"")
        _ = try Self.sitewarden(["-c", config, "baseline"])
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: Self.binary)
        daemon.arguments = ["-c", config, "run"]
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        defer {
            if daemon.isRunning { daemon.terminate() }
        }
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: metrics + "/sitewarden.prom"), Date() < deadline {
            usleep(100_000)
        }

        let text = try Self.sitewarden(["-c", config, "status"])
        let json = try Self.sitewarden(["-c", config, "status", "--json"])
        let prom = (try? String(contentsOfFile: metrics + "/sitewarden.prom", encoding: .utf8)) ?? ""
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: metrics)
        daemon.terminate()
        daemon.waitUntilExit()
        let stale = try Self.sitewarden(["-c", config, "status"])

        #expect(text.status == 2, "\(text.output)\(text.errorOutput)")
        let lines = text.output.split(separator: "\n").map(String.init)
        #expect(lines.count > 2 && lines[1].hasPrefix("TARGET  STATE          FILES  LAST CHECK"))
        #expect(lines.count > 2 && lines[2].hasPrefix("tunely  probe-failing     18  "))
        #expect(text.output.contains("  route: FAIL GET http://127.0.0.1:1/api/info"))
        #expect(json.status == 2)
        #expect(try Self.schemaProblems(json.output, Self.statusSchema) == [])
        let probe =
            ((try Self.object(json.output)["targets"] as? [[String: Any]])?.first?["probes"] as? [[String: Any]])?
            .first
        #expect(probe?["passed"] as? Bool == false && probe?["verdict"] as? String == "connection-failed")
        #expect(prom.contains("sitewarden_target_up{target=\"tunely\"} 0\n"))
        #expect(prom.contains("sitewarden_target_state{target=\"tunely\",state=\"probe-failing\"} 1\n"))
        #expect(prom.contains("sitewarden_probe_success{target=\"tunely\",url=\"http://127.0.0.1:1/api/info\"} 0\n"))
        #expect(leftovers == ["sitewarden.prom"])
        #expect(stale.status == 3)
        #expect(stale.output.contains("STALE: the daemon (pid \(daemon.processIdentifier)) is not running"))
    }

    @Test func theSchemaValidatorRejectsWhatBreaksTheSchema() throws {
        let broken = """
            {"schema_version": 1, "command": "check", "generated_at": 1, "result": "fine", "exit_code": 0,
             "targets": [{"name": "t", "health": "healthy", "files_checked": "18", "drifts": [], "probes": [],
                          "warnings": [], "restores": 0}]}
            """

        let problems = try Self.schemaProblems(broken, Self.checkSchema)

        #expect(
            Set(problems) == [
                "$.result: string \"fine\" is not one of [\"healthy\", \"drift\", \"probe-failure\", \"cannot-verify\", \"version-changed\"]",
                "$.targets[0]: required key 'state' is missing",
                "$.targets[0].files_checked: expected integer, found string \"18\"",
            ])
    }

    static let hasJSONSchema =
        ProcessInfo.processInfo.environment["CI"] == "true"
        || (try? Shell.run(["python3", "-c", "import jsonschema"]).status) == 0

    /// The schema files themselves checked against JSON Schema's 2020-12 metaschema, and the
    /// documents checked by an independent validator too (python3-jsonschema).
    @Test(.enabled(if: hasJSONSchema, "python3 jsonschema is not installed (deploy/setup-dev.sh installs it)"))
    func theSchemasAreValidJSONSchemaAndAnIndependentValidatorAcceptsTheDocuments() throws {
        let scratch = try RealTunely.scratchVenv()
        let config = try Self.writeConfig(scratch)
        _ = try Self.sitewarden(["-c", config, "baseline"])
        try Files.keepFirstLines(scratch.sitePackages + "/tunely/server.py", 562)
        try Self.sitewarden(["-c", config, "check", "--json"]).output.write(
            toFile: scratch.path + "/check.json", atomically: true, encoding: .utf8)
        try Self.sitewarden(["-c", config, "status", "--json"]).output.write(
            toFile: scratch.path + "/status.json", atomically: true, encoding: .utf8)
        let script = """
            import json, sys
            from jsonschema import Draft202012Validator
            for schema_file, document_file in zip(sys.argv[1::2], sys.argv[2::2]):
                schema = json.load(open(schema_file))
                Draft202012Validator.check_schema(schema)
                errors = list(Draft202012Validator(schema).iter_errors(json.load(open(document_file))))
                for error in errors: print(document_file, error.message)
                if errors: sys.exit(1)
            """

        let result = try Shell.run([
            "python3", "-c", script, Self.checkSchema, scratch.path + "/check.json", Self.statusSchema,
            scratch.path + "/status.json",
        ])

        #expect(result.status == 0, "\(result.output)\(result.errorOutput)")
    }

    @Test func theReadmeQuotesTheHelpAsPrinted() throws {
        let readme = try String(contentsOfFile: RealTunely.repositoryRoot + "/README.md", encoding: .utf8)

        #expect(readme.contains(CommandHelp.overview))
        for command in Arguments.Command.allCases {
            #expect(readme.contains(CommandHelp.text(for: command)), "the help of \(command.rawValue)")
        }
    }
}
