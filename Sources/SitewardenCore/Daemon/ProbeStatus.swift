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
    /// `GET`, `HEAD` or `POST`.
    public var method: String?
    /// The address connected to (`127.0.0.1:8083`, `[::1]:8083`, a unix socket's path), or the
    /// configured one when no connection was made.
    public var address: String?
    /// The route's standing under its thresholds: `passing`, `failing`, or `pending` (failed, but
    /// not yet `failure_threshold` times in a row, or within the start-up grace). Absent from
    /// `check --json`, which judges each probe once.
    public var state: String?
    /// Failures in a row, with `state`.
    public var consecutiveFailures: Int?

    public init(_ result: ProbeResult) {
        self.init(result, standing: nil)
    }

    init(_ result: ProbeResult, standing: RouteState?) {
        url = result.url
        passed = result.verdict == .passed
        verdict = result.verdict.name
        httpStatus = result.status
        latencyMs = result.elapsed.wholeMilliseconds
        summary = result.summary
        method = result.method.rawValue
        address = result.address
        state = standing?.standing.rawValue
        consecutiveFailures = standing?.consecutiveFailures
    }

    /// `summary (3 ms) [failing, 127.0.0.1:8083]`, what `sitewarden status` prints for a route.
    public var line: String {
        let detail = [state, address].compactMap { $0 }.joined(separator: ", ")
        return "\(summary) (\(latencyMs) ms)" + (detail.isEmpty ? "" : " [\(detail)]")
    }
}
