/// One route probe's result as `status.json`, `sitewarden check --json` and `status --json` give it.
///
/// An object rather than a line of text, so scripts read the verdict and latency without parsing
/// prose, and new fields (a probe's method, headers, the check that failed) can join it without
/// breaking readers: docs/JSON.md promises only additions.
public struct ProbeStatus: Codable, Sendable, Equatable {
    public var url: String
    /// True when the route answered as expected.
    public var passed: Bool
    /// `passed`, `unexpected-status`, `body-mismatch`, `timeout`, `connection-failed`,
    /// `invalid-request` or `response-too-large`.
    public var verdict: String
    /// The HTTP status received; nil when no status line arrived.
    public var httpStatus: Int?
    public var latencyMs: Int64
    /// One line for people, e.g. `GET http://127.0.0.1:8083/api/info → 404 (expected 200)`.
    public var summary: String

    public init(_ result: ProbeResult) {
        url = result.url
        passed = result.verdict == .passed
        verdict = result.verdict.name
        httpStatus = result.status
        latencyMs = result.elapsed.wholeMilliseconds
        summary = result.summary
    }
}
