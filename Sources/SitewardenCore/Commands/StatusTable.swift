/// `sitewarden status` for people: one aligned row per target, then each target's details
/// (drifted files, routes, why it is not being repaired).
enum StatusTable {
    static let headers = ["TARGET", "STATE", "FILES", "LAST CHECK", "TOOK", "LAST DRIFT", "LAST RESTORE", "ROUTES"]

    static func render(_ targets: [TargetStatus], now: Int, style: TerminalStyle) -> [String] {
        let rows = targets.map { target in
            [
                target.name, target.state.rawValue, "\(target.filesChecked)",
                TimeText.moment(target.lastCheckAt, now: now),
                target.lastCheckDurationMs.map { Duration.milliseconds($0).secondsText } ?? "-",
                TimeText.moment(target.lastDriftAt, now: now),
                TimeText.moment(target.lastRestoreAt, now: now) + (target.restores > 0 ? " ×\(target.restores)" : ""),
                target.probes.isEmpty ? "-" : "\(target.probes.filter(\.passed).count)/\(target.probes.count) ok",
            ]
        }
        let widths = headers.indices.map { column in
            ([headers[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0
        }
        var lines = [line(headers, widths: widths)]
        for (target, row) in zip(targets, rows) {
            // Padding is measured on the plain word, then the colour goes around it.
            var cells = row
            cells[1] = style.paint(state: target.state) + String(repeating: " ", count: widths[1] - row[1].count)
            lines.append(line(cells, widths: widths, padded: [1]))
        }
        for target in targets {
            lines += details(target, style: style)
        }
        return lines
    }

    private static func line(_ cells: [String], widths: [Int], padded: Set<Int> = []) -> String {
        cells.enumerated().map { index, cell in
            let pad = padded.contains(index) || index == cells.count - 1 ? 0 : widths[index] - cell.count
            // Counts right-aligned, text left-aligned.
            return index == 2
                ? String(repeating: " ", count: pad) + cell : cell + String(repeating: " ", count: pad)
        }.joined(separator: "  ")
    }

    private static func details(_ target: TargetStatus, style: TerminalStyle) -> [String] {
        var lines: [String] = []
        if let note = target.note { lines.append("  \(note)") }
        if let problem = target.problem { lines.append("  problem: \(problem)") }
        for drift in target.drifts { lines.append("  drift: \(drift.description)") }
        for warning in target.warnings { lines.append("  \(style.paint("warning", .yellow)): \(warning)") }
        for probe in target.probes {
            let verdict = probe.passed ? style.paint("ok  ", .green) : style.paint("FAIL", .red)
            lines.append("  route: \(verdict) \(probe.line)")
        }
        return lines.isEmpty ? [] : ["\(target.name):"] + lines
    }
}
