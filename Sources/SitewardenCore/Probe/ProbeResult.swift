/// The outcome of one probe, with a one-line summary fit for a journal `MESSAGE=`.
public struct ProbeResult: Sendable, Equatable {
    public var url: String
    public var verdict: ProbeVerdict
    /// The HTTP status received, or `nil` when no status line arrived.
    public var status: Int?
    /// Wall time the probe took, measured on the monotonic clock.
    public var elapsed: Duration
    /// For example `GET http://127.0.0.1:8083/api/info → 404 (expected 200)`; never contains a line break.
    public var summary: String

    public init(url: String, verdict: ProbeVerdict, status: Int?, elapsed: Duration, summary: String) {
        self.url = url
        self.verdict = verdict
        self.status = status
        self.elapsed = elapsed
        self.summary = summary
    }
}
