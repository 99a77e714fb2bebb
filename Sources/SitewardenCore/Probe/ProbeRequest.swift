/// One HTTP route check: where to send a `GET` and what a healthy answer looks like.
public struct ProbeRequest: Sendable, Equatable {
    /// The default bound on how much of a response body a probe reads: 1 MiB.
    public static let defaultMaxBodyBytes = 1 << 20

    /// An absolute `http://` or `https://` URL.
    public var url: String
    /// The HTTP status a healthy service answers with.
    public var expectStatus: Int
    /// Bytes the body must contain (a substring match on the bytes read); `nil` skips the check.
    public var expectBody: String?
    /// The bound on the whole exchange, from resolving the host to the last body byte.
    public var timeout: Duration
    /// The bound on establishing the connection; `nil` uses `timeout`.
    public var connectTimeout: Duration?
    /// How many body bytes the probe reads at most; a longer body is `responseTooLarge`.
    public var maxBodyBytes: Int

    public init(
        url: String,
        expectStatus: Int = 200,
        expectBody: String? = nil,
        timeout: Duration,
        connectTimeout: Duration? = nil,
        maxBodyBytes: Int = ProbeRequest.defaultMaxBodyBytes
    ) {
        self.url = url
        self.expectStatus = expectStatus
        self.expectBody = expectBody
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.maxBodyBytes = maxBodyBytes
    }
}
