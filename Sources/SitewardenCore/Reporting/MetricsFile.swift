/// Prometheus metrics in the text exposition format, for node_exporter's textfile collector
/// (`[daemon] metrics_file`, e.g. /var/lib/prometheus/node-exporter/sitewarden.prom).
///
/// Written after every cycle with `AtomicFile` (a hidden temporary name in the same directory,
/// then a rename), so the collector reads a whole file or the previous one. No sample carries a
/// timestamp: the collector stamps them when scraped. Names are `sitewarden_…` with their unit.
public enum MetricsFile {
    /// The exposition text for `targets`, as the daemon last saw them.
    public static func render(_ targets: [TargetStatus], cycles: Int, version: String = sitewardenVersion) -> String {
        var text = ""
        func family(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            guard !samples.isEmpty else { return }
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples {
                text +=
                    sample.labels.isEmpty ? "\(name) \(sample.value)\n" : "\(name){\(sample.labels)} \(sample.value)\n"
            }
        }
        let perTarget = { (value: (TargetStatus) -> String?) in
            targets.compactMap { target in value(target).map { (labels: label("target", target.name), value: $0) } }
        }
        family(
            "sitewarden_build_info", "gauge", "The running sitewarden's version; always 1.",
            [(label("version", version), "1")])
        family("sitewarden_cycles_total", "counter", "Check cycles since the daemon started.", [("", "\(cycles)")])
        family(
            "sitewarden_target_up", "gauge", "1 when the target is healthy: files verified and every route passed.",
            perTarget { $0.state == .healthy ? "1" : "0" })
        family(
            "sitewarden_target_state", "gauge", "The target's state: 1 for the current one, 0 for the others.",
            targets.flatMap { target in
                TargetState.allCases.map { state in
                    (
                        label("target", target.name) + "," + label("state", state.rawValue),
                        target.state == state ? "1" : "0"
                    )
                }
            })
        family(
            "sitewarden_files_checked", "gauge", "Files the last verification checked.",
            perTarget { "\($0.filesChecked)" })
        family(
            "sitewarden_drifted_files", "gauge", "Files the last verification found drifted (extra files included).",
            perTarget { "\($0.drifts.count)" })
        family(
            "sitewarden_restores_total", "counter", "Restores of the target since the daemon started.",
            perTarget { "\($0.restores)" })
        family(
            "sitewarden_last_check_timestamp_seconds", "gauge", "When the last verification started (Unix time).",
            perTarget { $0.lastCheckAt.map { "\($0)" } })
        family(
            "sitewarden_last_check_duration_seconds", "gauge", "How long the last verification took.",
            perTarget { $0.lastCheckDurationMs.map(seconds) })
        family(
            "sitewarden_last_restore_timestamp_seconds", "gauge", "When files were last restored (Unix time).",
            perTarget { $0.lastRestoreAt.map { "\($0)" } })
        let probes = targets.flatMap { target in
            target.probes.map { (labels: label("target", target.name) + "," + label("url", $0.url), probe: $0) }
        }
        family(
            "sitewarden_probe_success", "gauge", "1 when the route answered as expected in the last probe.",
            probes.map { ($0.labels, $0.probe.passed ? "1" : "0") })
        family(
            "sitewarden_probe_duration_seconds", "gauge", "How long the route's last probe took.",
            probes.map { ($0.labels, seconds($0.probe.latencyMs)) })
        family(
            "sitewarden_probe_http_status", "gauge", "The HTTP status of the route's last answer (0: none).",
            probes.map { ($0.labels, "\($0.probe.httpStatus ?? 0)") })
        return text
    }

    /// Writes `text` to `path` atomically, readable by node_exporter whatever the daemon's umask.
    static func write(_ text: String, to path: String) throws(SystemError) {
        try AtomicFile.write(Array(text.utf8), to: path, mode: 0o644)
    }

    /// `name="value"` with the exposition format's escapes: backslash, double quote, newline.
    static func label(_ name: String, _ value: String) -> String {
        var escaped = ""
        for character in value {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            default: escaped.append(character)
            }
        }
        return "\(name)=\"\(escaped)\""
    }

    private static func seconds(_ milliseconds: Int64) -> String {
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
