import Foundation
import Testing

@testable import SitewardenCore

/// The Prometheus textfile: node_exporter's rules (no timestamps, `sitewarden_` names with units,
/// escaped labels, one HELP and TYPE per family) and a write that never shows half a file.
@Suite("Prometheus textfile metrics")
struct MetricsFileTests {
    static func target(_ name: String, state: TargetState, probes: [ProbeStatus] = []) -> TargetStatus {
        TargetStatus(
            name: name, state: state, health: .healthy, version: "0.2.3", filesChecked: 18, drifts: [], problem: nil,
            probes: probes, lastCheckAt: 1_796_000_000, lastCheckDurationMs: 1234, restores: 2)
    }

    static let probe = ProbeStatus(
        ProbeResult(
            url: "http://127.0.0.1:8083/api/info", verdict: .unexpectedStatus(expected: 200, actual: 404), status: 404,
            elapsed: .milliseconds(25), summary: "GET http://127.0.0.1:8083/api/info → 404 (expected 200)"))

    @Test func everySampleIsANameWithLabelsAndAValueAndNoTimestamp() {
        let text = MetricsFile.render([Self.target("tunely", state: .healthy, probes: [Self.probe])], cycles: 7)

        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let name = line.prefix { $0 != "{" && $0 != " " }
            let value = line.split(separator: " ").last.map(String.init) ?? ""
            #expect(name.hasPrefix("sitewarden_"), "\(line)")
            #expect(Double(value) != nil, "\(line)")
            // Labels never hold a space here, so a sample with a timestamp would have three fields.
            #expect(line.split(separator: " ").count == 2, "\(line)")
        }
        #expect(text.contains("sitewarden_cycles_total 7\n"))
        #expect(text.contains("sitewarden_target_up{target=\"tunely\"} 1\n"))
        #expect(text.contains("sitewarden_restores_total{target=\"tunely\"} 2\n"))
        #expect(text.contains("sitewarden_last_check_duration_seconds{target=\"tunely\"} 1.234\n"))
        #expect(text.contains("sitewarden_last_check_timestamp_seconds{target=\"tunely\"} 1796000000\n"))
        #expect(
            text.contains(
                "sitewarden_probe_duration_seconds{target=\"tunely\",url=\"http://127.0.0.1:8083/api/info\"} 0.025\n"))
        #expect(
            text.contains(
                "sitewarden_probe_http_status{target=\"tunely\",url=\"http://127.0.0.1:8083/api/info\"} 404\n"))
        #expect(!text.contains("sitewarden_last_restore_timestamp_seconds"))
    }

    @Test func eachFamilyHasOneHelpAndTypeAndExactlyOneStateIsSet() {
        let text = MetricsFile.render(
            [Self.target("tunely", state: .drifted), Self.target("billing", state: .observeOnly)], cycles: 1)
        let lines = text.split(separator: "\n")
        let helps = lines.filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] }
        let states = lines.filter { $0.hasPrefix("sitewarden_target_state{target=\"tunely\"") }

        #expect(Set(helps).count == helps.count)
        #expect(lines.filter { $0.hasPrefix("# TYPE ") }.count == helps.count)
        #expect(states.count == TargetState.allCases.count)
        #expect(
            states.filter { $0.hasSuffix(" 1") } == ["sitewarden_target_state{target=\"tunely\",state=\"drifted\"} 1"])
        #expect(text.contains("sitewarden_target_state{target=\"billing\",state=\"observe-only\"} 1\n"))
        #expect(text.contains("sitewarden_target_up{target=\"tunely\"} 0\n"))
    }

    @Test func labelValuesAreEscaped() {
        #expect(MetricsFile.label("target", "a\"b\\c\nd") == "target=\"a\\\"b\\\\c\\nd\"")
    }

    @Test func writingReplacesTheFileWholeAndLeavesNoTemporaryFile() throws {
        let scratch = try Scratch()
        let path = scratch.path + "/sitewarden.prom"
        try "old\n".write(toFile: path, atomically: false, encoding: .utf8)
        let inodeBefore = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? UInt64

        try MetricsFile.write("sitewarden_cycles_total 1\n", to: path)

        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "sitewarden_cycles_total 1\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == ["sitewarden.prom"])
        // A new inode: a reader holding the old file keeps reading a whole old file.
        #expect(attributes[.systemFileNumber] as? UInt64 != inodeBefore)
        #expect((attributes[.posixPermissions] as? Int) == 0o644)
    }

    @Test func writingIntoAMissingDirectoryNamesTheCall() throws {
        let scratch = try Scratch()

        #expect(throws: SystemError.self) {
            try MetricsFile.write("x 1\n", to: scratch.path + "/missing/sitewarden.prom")
        }
    }
}
