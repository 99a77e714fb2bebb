import Glibc

/// How a damaged file relates to its known-good copy when it is a cut-off prefix of it.
public struct TruncationDiagnosis: Sendable, Equatable, CustomStringConvertible {
    /// Complete lines the damaged file still has.
    public var keptLines: Int
    /// Lines in the known-good file.
    public var totalLines: Int
    public var keptBytes: Int
    public var totalBytes: Int

    public var description: String {
        "prefix of the known-good file, \(keptLines) of \(totalLines) lines (\(keptBytes) of \(totalBytes) bytes)"
    }

    /// Compares the two files as streams; returns a diagnosis only when `damaged` is a strict
    /// prefix of `knownGood` and `knownGood` still has the digest the baseline recorded (a tampered
    /// backup copy diagnoses nothing). Lines are counted as `wc -l` does: newline characters.
    static func diagnose(damaged: String, knownGood: String, knownGoodDigest: SHA256Digest) -> TruncationDiagnosis? {
        guard let damagedFile = try? FileDescriptor.openRegularFile(damaged),
            let goodFile = try? FileDescriptor.openRegularFile(knownGood)
        else { return nil }
        let goodHasher = SHA256Hasher()

        var damagedBuffer = [UInt8](repeating: 0, count: 65536)
        var goodBuffer = [UInt8](repeating: 0, count: 65536)
        var keptLines = 0
        var keptBytes = 0
        var totalLines = 0
        var totalBytes = 0
        var damagedEnded = false
        while true {
            guard let goodCount = try? goodFile.read(into: &goodBuffer) else {
                return nil
            }
            if goodCount == 0 { break }
            goodBuffer.withUnsafeBytes { goodHasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<goodCount])) }
            totalBytes += goodCount
            totalLines += goodBuffer[0..<goodCount].count(where: { $0 == UInt8(ascii: "\n") })
            if damagedEnded { continue }

            // Read exactly as many damaged bytes as this good chunk holds, so chunks line up.
            var filled = 0
            while filled < goodCount {
                guard let count = try? damagedFile.read(into: &damagedBuffer, range: filled..<goodCount) else {
                    return nil
                }
                if count == 0 { break }
                filled += count
            }
            guard damagedBuffer[0..<filled] == goodBuffer[0..<filled] else { return nil }
            keptBytes += filled
            keptLines += damagedBuffer[0..<filled].count(where: { $0 == UInt8(ascii: "\n") })
            damagedEnded = filled < goodCount
        }
        // Equal files, or a damaged file longer than the good one, are not truncations.
        var extra = [UInt8](repeating: 0, count: 1)
        if !damagedEnded, let count = try? damagedFile.read(into: &extra), count > 0 {
            return nil
        }
        guard keptBytes < totalBytes, goodHasher.finish() == knownGoodDigest else { return nil }
        return TruncationDiagnosis(
            keptLines: keptLines, totalLines: totalLines, keptBytes: keptBytes, totalBytes: totalBytes)
    }
}
