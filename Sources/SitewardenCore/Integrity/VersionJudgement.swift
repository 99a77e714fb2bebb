/// Which version is known-good, and what follows when another one is installed.
///
/// The baseline's version is the known-good one when there is a baseline (`sitewarden baseline
/// --adopt` moves it); the configured `version` stands in when there is none. Another version
/// installed is an upgrade, not damage: its files are verified against its own RECORD and the
/// baseline (of the old version) is not used. With `pin_version = true` it is drift instead: the
/// baseline judges, and a restore puts the pinned version's files back.
struct VersionJudgement: Equatable {
    var change: VersionChange?
    /// Verify against the installed dist-info's RECORD (not when it is of a version being undone).
    var useRecord = true
    /// Verify against the baseline (not when it is of a version no longer wanted).
    var useBaseline = true
    var failure: String?
    var note: String?

    static func judge(
        distribution: String, installed: String, configured: String?, baseline: String?, pinned: Bool
    ) -> VersionJudgement {
        let reference = baseline ?? configured
        guard let reference, reference != installed else {
            var judgement = VersionJudgement()
            if let configured, configured != installed {
                judgement.note =
                    "version = \"\(configured)\" is configured but the baseline adopted \(installed), which is "
                    + "installed; update version in the configuration"
            }
            return judgement
        }
        if pinned {
            if let baseline, configured == nil || configured == baseline {
                return VersionJudgement(
                    change: VersionChange(from: baseline, to: installed, pinned: true), useRecord: false)
            }
            if baseline == nil {
                return VersionJudgement(
                    failure: "\(distribution) \(reference) is pinned but \(installed) is installed, and no baseline "
                        + "was recorded to restore \(reference) from")
            }
        }
        return VersionJudgement(
            change: VersionChange(from: reference, to: installed, pinned: false), useBaseline: false)
    }
}
