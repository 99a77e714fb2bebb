/// Ties a failing route to what the files say: the drift that explains it, or a clean bill that
/// sends the operator elsewhere (configuration, database, a dependency).
enum ProbeCorrelation {
    /// The `SITEWARDEN_CAUSE=` of a probe failure.
    enum Cause: String, Sendable {
        /// Files drifted: the message names them; a restore follows unless the target observes only.
        case drift
        /// Every file verified (in full, byte by byte): the code on disk is not the cause.
        case elsewhere
        /// The files could not be judged (no venv, no RECORD or baseline, another version, …).
        case unverified
    }

    /// How many drifted files a message names before "and N more".
    static let namedFiles = 3

    static func explain(
        _ report: VerificationReport?, fullScan: Bool
    ) -> (cause: Cause, explanation: String, files: String) {
        guard let report else { return (.unverified, "the files were not verified", "") }
        if let failure = report.failure {
            return (.unverified, "the files could not be verified (\(failure))", "")
        }
        if !report.drifts.isEmpty {
            // Content drift explains a broken route better than metadata or an extra file.
            let ordered = report.drifts.filter(\.kind.isContent) + report.drifts.filter { !$0.kind.isContent }
            var text = ordered.prefix(namedFiles).map(\.briefDescription).joined(separator: ", ")
            if ordered.count > namedFiles { text += " and \(ordered.count - namedFiles) more" }
            return (.drift, text, ordered.map(\.recordPath).joined(separator: " "))
        }
        if let notCovered = report.notCovered {
            return (.unverified, "the running code is not covered (\(notCovered))", "")
        }
        if let change = report.versionChange, !change.pinned {
            return (.unverified, "\(change); the new version matches its own RECORD", "")
        }
        let how = fullScan ? "verified in full" : "verified"
        return (
            .elsewhere,
            "the code on disk is intact (\(report.filesChecked) files \(how)): the problem is elsewhere; nothing restored",
            ""
        )
    }
}

extension FileDrift {
    /// `tunely/server.py truncated (562 of 1361 lines)`: short enough to follow a probe summary.
    var briefDescription: String {
        switch kind {
        case .truncated(let diagnosis):
            "\(recordPath) truncated (\(diagnosis.keptLines) of \(diagnosis.totalLines) lines)"
        default: "\(recordPath) \(kind.name)"
        }
    }
}
