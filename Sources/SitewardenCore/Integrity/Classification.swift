/// What RECORD's row says about one file's bytes.
struct RecordJudgement: Equatable {
    /// The file's bytes (or, without a usable hash, its size) contradict the row.
    var disagrees: Bool
    /// Why the row could only partly judge the file, or how the row contradicts itself.
    var note: String?

    /// Judges `facts` (read from `path`) against one RECORD row.
    ///
    /// Digests are compared as bytes. sha256 rows use the digest every scan computes; sha384 and
    /// sha512 rows get a second pass over the file. md5, sha1 and unknown algorithms cannot vouch
    /// for anything: those rows, like hashless ones, are held to existence and size only. A size
    /// that disagrees with a matching hash is RECORD contradicting itself: the hash wins.
    static func judge(_ entry: RecordEntry, facts: FileFacts, path: String) -> RecordJudgement {
        let sizeDisagrees = entry.size.map { $0 != facts.size } ?? false
        guard let hash = entry.hash else { return RecordJudgement(disagrees: sizeDisagrees) }
        // The usual row, compared without building anything.
        if let expected = hash.sha256 {
            return judged(entry, matches: expected == facts.sha256, algorithm: .sha256, facts: facts)
        }
        guard case .verifiable(let algorithm, let digest) = hash.check else {
            return RecordJudgement(
                disagrees: sizeDisagrees,
                note:
                    "RECORD line \(entry.line) (\(entry.path.printable)): \(hash.unverifiableReason ?? "unusable hash"); "
                    + "unverifiable against RECORD, checked for existence and size only")
        }
        let matches: Bool
        if algorithm == .sha256 {
            matches = facts.sha256.equals(digest)
        } else if let second = try? FileHasher.digest(of: path, algorithm: algorithm) {
            matches = second.digest == digest && second.size == facts.size
        } else {
            matches = false
        }
        return judged(entry, matches: matches, algorithm: algorithm, facts: facts)
    }

    private static func judged(
        _ entry: RecordEntry, matches: Bool, algorithm: DigestAlgorithm, facts: FileFacts
    ) -> RecordJudgement {
        let sizeDisagrees = entry.size.map { $0 != facts.size } ?? false
        guard matches else { return RecordJudgement(disagrees: true) }
        guard sizeDisagrees, let size = entry.size else { return RecordJudgement(disagrees: false) }
        return RecordJudgement(
            disagrees: false,
            note: "RECORD inconsistent: line \(entry.line) (\(entry.path.printable)) says \(size) bytes but its "
                + "\(algorithm.rawValue) matches the file's \(facts.size) bytes; the bytes are judged by the hash")
    }
}

extension Verifier {
    /// Compares what was observed with what was expected; nil `state` means the path leads out of the venv.
    func classify(
        _ expectation: Expectation, venvPath: String, absolutePath: String, state: FileState?,
        report: inout VerificationReport
    ) -> FileDrift? {
        let expectedDigest =
            expectation.baseline.flatMap { SHA256Digest(hex: $0.sha256) } ?? recordDigest(expectation.record)
        let expectedSize = expectation.baseline?.size ?? expectation.record?.size
        var drift = FileDrift(
            recordPath: expectation.recordPath, venvPath: venvPath, kind: .missing, expectedSHA256: expectedDigest,
            expectedSize: expectedSize, actualSHA256: nil, actualSize: nil,
            disagreesWithRecord: expectation.record != nil,
            disagreesWithBaseline: expectation.baseline != nil,
            expectedMetadata: expectation.baseline.map { FileMetadata(mode: $0.mode, owner: $0.owner, group: $0.group) }
        )

        if let sharer = expectation.sharedWith.first {
            report.warn(
                "\(expectation.recordPath.printable) is also installed by \(sharer.distInfo): content matching "
                    + "either distribution's RECORD is accepted, so the two are never fought over")
        }
        guard let state else {
            drift.kind = .leavesVenv
            return drift
        }
        switch state {
        case .missing:
            return drift
        case .notRegularFile:
            drift.kind = .notRegularFile
            return drift
        case .unreadable(let error):
            drift.kind = .unreadable(error)
            return drift
        case .unstable:
            // Set aside by `verify` before classification; an unstable file is never drift.
            return nil
        case .present(let facts):
            drift.actualSHA256 = facts.sha256
            drift.actualSize = facts.size
            drift.actualMetadata = FileMetadata(mode: facts.mode, owner: facts.owner, group: facts.group)
            drift.disagreesWithRecord = false
            if let entry = expectation.record {
                let judgement = RecordJudgement.judge(entry, facts: facts, path: absolutePath)
                drift.disagreesWithRecord = judgement.disagrees
                if let note = judgement.note { report.warn(note) }
            }
            drift.disagreesWithBaseline = expectation.baseline.map { $0.sha256 != facts.sha256.hex } ?? false
            if drift.disagreesWithRecord || drift.disagreesWithBaseline {
                guard !installedByAnother(expectation, facts: facts, path: absolutePath) else { return nil }
                drift.kind = diagnose(expectation, actual: facts, path: absolutePath)
                return drift
            }
            guard let expected = drift.expectedMetadata, let actual = drift.actualMetadata,
                metadataDiffers(expected, actual)
            else { return nil }
            drift.kind = .metadata
            return drift
        }
    }

    /// The mode bits the policy cares about, the owner or the group differ.
    func metadataDiffers(_ expected: FileMetadata, _ actual: FileMetadata) -> Bool {
        (expected.mode ^ actual.mode) & policy.modeMask != 0 || expected.owner != actual.owner
            || expected.group != actual.group
    }

    /// A path two distributions both install holds whichever was installed last. Content matching
    /// the other distribution's RECORD is accepted, so two targets never restore over each other.
    private func installedByAnother(_ expectation: Expectation, facts: FileFacts, path: String) -> Bool {
        expectation.sharedWith.contains { sharer in
            guard let hash = sharer.hash, case .verifiable = hash.check else { return false }
            let row = RecordEntry(path: expectation.recordPath, hash: hash, size: nil, line: 0)
            return !RecordJudgement.judge(row, facts: facts, path: path).disagrees
        }
    }

    private func recordDigest(_ entry: RecordEntry?) -> SHA256Digest? {
        entry?.hash?.sha256
    }

    /// Truncated when the file is a cut-off copy of the known-good backup; modified otherwise.
    private func diagnose(_ expectation: Expectation, actual: FileFacts, path: String) -> DriftKind {
        guard let baseline = expectation.baseline, actual.size < baseline.size else { return .modified }
        let knownGood = backupDirectory + "/" + BackupLayout.filesDirectory + "/" + baseline.venvPath
        guard let digest = SHA256Digest(hex: baseline.sha256),
            let diagnosis = TruncationDiagnosis.diagnose(
                damaged: path, knownGood: knownGood, knownGoodDigest: digest)
        else {
            return .modified
        }
        return .truncated(diagnosis)
    }
}
