/// The outcome of one probe, with a one-line summary fit for a journal `MESSAGE=`.
public struct ProbeResult: Sendable, Equatable {
    /// The route as messages name it: its URL, or `unix:/run/app.sock /api/info`.
    public var url: String
    public var verdict: ProbeVerdict
    /// The HTTP status received, or `nil` when no status line arrived.
    public var status: Int?
    /// Wall time the probe took, measured on the monotonic clock.
    public var elapsed: Duration
    /// For example `GET http://127.0.0.1:8083/api/info → 404 (expected 200)`; never contains a line break.
    public var summary: String
    public var method: ProbeMethod
    /// The address connected to (`127.0.0.1:8083`, `[::1]:8083`, a socket path), or the configured
    /// one when no connection was made: where an operator looks first.
    public var address: String

    public init(
        url: String, verdict: ProbeVerdict, status: Int?, elapsed: Duration, summary: String,
        method: ProbeMethod = .get, address: String = ""
    ) {
        self.url = url
        self.verdict = verdict
        self.status = status
        self.elapsed = elapsed
        self.summary = summary
        self.method = method
        self.address = address
    }
}
