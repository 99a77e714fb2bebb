/// One HTTP check of a target's running service (a `[[target.route]]` table).
public struct RouteConfig: Sendable, Equatable {
    public static let defaultExpectStatus = 200
    public static let defaultTimeout: Duration = .seconds(5)
    public static let thresholdRange = 1...100

    /// An http:// or https:// URL; for a unix-socket route, `http://localhost` and the path.
    public var url: String
    /// `url = "unix:/run/app.sock"`: connect to this socket instead of a host and port.
    public var unixSocket: String?
    public var method: ProbeMethod
    /// What a `POST` sends.
    public var body: String?
    /// Request headers, literal or read from a file or the environment at each probe.
    public var headers: [ProbeHeader]
    /// The statuses the response may have, each 100–599.
    public var expectStatus: StatusExpectation
    /// Text the response body must contain, or nil to ignore the body.
    public var expectBody: String?
    /// `expect_body_regex` and `expect_json`: further checks of the body.
    public var bodyChecks: [BodyCheck]
    /// How long the whole request may take.
    public var timeout: Duration
    /// How long connecting may take; nil uses `timeout`.
    public var connectTimeout: Duration?
    /// `max_response_size`: body bytes read at most.
    public var maxBodyBytes: Int
    public var followRedirects: Bool
    /// `ca_file`: the only CAs trusted for this route's TLS.
    public var caFile: String?
    /// Consecutive failures before the route counts as failing (`failure_threshold`).
    public var failureThreshold: Int
    /// Consecutive successes before a failing route counts as passing again (`success_threshold`).
    public var successThreshold: Int

    public init(
        url: String,
        unixSocket: String? = nil,
        method: ProbeMethod = .get,
        body: String? = nil,
        headers: [ProbeHeader] = [],
        expectStatus: StatusExpectation = 200,
        expectBody: String? = nil,
        bodyChecks: [BodyCheck] = [],
        timeout: Duration = defaultTimeout,
        connectTimeout: Duration? = nil,
        maxBodyBytes: Int = ProbeRequest.defaultMaxBodyBytes,
        followRedirects: Bool = false,
        caFile: String? = nil,
        failureThreshold: Int = 1,
        successThreshold: Int = 1
    ) {
        self.url = url
        self.unixSocket = unixSocket
        self.method = method
        self.body = body
        self.headers = headers
        self.expectStatus = expectStatus
        self.expectBody = expectBody
        self.bodyChecks = bodyChecks
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.maxBodyBytes = maxBodyBytes
        self.followRedirects = followRedirects
        self.caFile = caFile
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
    }

    /// The request a probe of this route sends.
    public var probeRequest: ProbeRequest {
        ProbeRequest(
            url: url, method: method, body: body, headers: headers, expectStatus: expectStatus,
            expectBody: expectBody, bodyChecks: bodyChecks, timeout: timeout, connectTimeout: connectTimeout,
            maxBodyBytes: maxBodyBytes, followRedirects: followRedirects, caFile: caFile, unixSocket: unixSocket)
    }
}
