/// What `sitewarden status --json` prints: the daemon's status file judged for freshness
/// (docs/JSON.md, docs/status.schema.json). `schema_version` as in `CheckDocument`.
public struct StatusDocument: Codable, Sendable, Equatable {
    public var schemaVersion = CheckDocument.currentSchemaVersion
    public var command = "status"
    public var generatedAt: Int
    public var result: String
    public var exitCode: Int32
    /// The daemon that wrote the status file; absent when there is none to read.
    public var daemon: DaemonSummary?
    /// Why what follows cannot be trusted (no daemon running, no cycle for a long time), or why
    /// there is nothing to show; absent when the status is fresh.
    public var stale: String?
    public var targets: [TargetStatus]

    /// The daemon's identity and progress, from its status file.
    public struct DaemonSummary: Codable, Sendable, Equatable {
        public var pid: Int32
        public var writtenAt: Int
        public var ageSeconds: Int
        public var cycles: Int
    }
}
