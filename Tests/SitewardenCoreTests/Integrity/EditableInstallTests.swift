import Foundation
import Testing

@testable import SitewardenCore

/// CASES.md 7: an editable install's sources are not covered by RECORD.
@Suite("Editable installs")
struct EditableInstallTests {
    /// `uv pip install -e` of a tiny local package into a fresh `uv venv`.
    private func editableInstall(_ scratch: Scratch) throws -> String {
        let checkout = scratch.path + "/tiny-src"
        try FileManager.default.createDirectory(atPath: checkout + "/src/tiny", withIntermediateDirectories: true)
        try Files.create(
            checkout + "/pyproject.toml",
            Array(
                """
                [project]
                name = "tiny"
                version = "0.1.0"
                [build-system]
                requires = ["uv_build>=0.8,<1"]
                build-backend = "uv_build"

                """.utf8), mode: 0o644)
        try Files.create(checkout + "/src/tiny/__init__.py", Array("ANSWER = 42\n".utf8), mode: 0o644)
        try Shell.check(["uv", "venv", "-q", "--python", "/usr/bin/python3", scratch.venv])
        try Shell.check(["env", "VIRTUAL_ENV=" + scratch.venv, "uv", "pip", "install", "-q", "-e", checkout])
        return checkout
    }

    @Test func editableInstallIsNotCoveredAndItsSourceCheckoutIsNeverWritten() throws {
        let scratch = try Scratch()
        let checkout = try editableInstall(scratch)
        _ = try scratch.recorder(of: "tiny", version: nil).record()
        try Files.overwriteInPlace(checkout + "/src/tiny/__init__.py", with: Data("ANSWER = 41\n".utf8))
        let events = RecordingSink()
        let target = TargetConfig(
            name: "tiny", venv: scratch.venv, distribution: "tiny", backup: scratch.path + "/backup-tiny")
        let monitor = TargetMonitor(target: target, events: events)

        let report = scratch.verifier(of: "tiny", version: nil).verify()
        let first = monitor.runCycle(repair: true, services: nil)
        let second = monitor.runCycle(repair: true, services: nil)

        #expect(report.notCovered?.hasPrefix("editable install (direct_url.json: file://\(checkout))") == true)
        #expect(report.notCovered?.contains("not verified and never restored") == true)
        #expect(report.failure == nil && report.drifts.isEmpty && !report.isClean)
        #expect(CheckCommand.outcome(report, []) == .cannotVerify)
        #expect(first == .notCovered && second == .notCovered)
        #expect(events.kinds == [.verificationFailed])
        #expect(try Files.read(checkout + "/src/tiny/__init__.py") == Data("ANSWER = 41\n".utf8))
    }

    @Test func recordOfOnlyImportHooksIsRecognisedWithoutDirectURL() throws {
        let scratch = try Scratch()
        _ = try editableInstall(scratch)
        let sitePackages = scratch.venv + "/" + RealTunely.sitePackagesSuffix
        let distInfo = sitePackages + "/tiny-0.1.0.dist-info"
        let record = String(decoding: try Files.read(distInfo + "/RECORD"), as: UTF8.self)
            .split(separator: "\n").filter { !$0.contains("direct_url.json") }.joined(separator: "\n")
        try Files.overwriteInPlace(distInfo + "/RECORD", with: Data(record.utf8))
        unlink(distInfo + "/direct_url.json")

        let report = scratch.verifier(of: "tiny", version: nil).verify()

        #expect(report.notCovered?.contains("RECORD lists only import hooks and dist-info") == true)
    }
}
