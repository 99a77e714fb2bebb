/// One drifted file as the JSON outputs give it: what is wrong with it, in fields.
public struct DriftStatus: Codable, Sendable, Equatable {
    /// The path as RECORD writes it, e.g. `tunely/server.py`.
    public var file: String
    /// `modified`, `truncated`, `missing`, `not-a-regular-file`, `leaves-venv`, `unreadable`,
    /// `extra` or `metadata` (README, Journal).
    public var kind: String
    public var expectedSha256: String?
    public var actualSha256: String?
    public var expectedSize: Int?
    public var actualSize: Int?
    /// The line people read, e.g. `tunely/server.py: truncated, prefix of the known-good file, …`.
    public var description: String

    public init(_ drift: FileDrift) {
        file = drift.recordPath
        kind = drift.kind.name
        expectedSha256 = drift.expectedSHA256?.hex
        actualSha256 = drift.actualSHA256?.hex
        expectedSize = drift.expectedSize
        actualSize = drift.actualSize
        description = drift.description
    }
}
