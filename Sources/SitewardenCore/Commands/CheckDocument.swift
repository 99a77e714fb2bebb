/// What `sitewarden check --json` prints: docs/JSON.md, docs/check.schema.json.
///
/// `schema_version` changes only when a field is removed or changes meaning; new fields may
/// appear in any release, so readers ignore keys they do not know.
public struct CheckDocument: Codable, Sendable, Equatable {
    public static let currentSchemaVersion = 1

    public var schemaVersion = currentSchemaVersion
    public var command = "check"
    /// When the check ran, Unix seconds.
    public var generatedAt: Int
    /// The worst target's verdict: `healthy`, `drift`, `probe-failure`, `cannot-verify` or
    /// `version-changed`; the exit code says the same.
    public var result: String
    public var exitCode: Int32
    public var targets: [TargetStatus]
}
