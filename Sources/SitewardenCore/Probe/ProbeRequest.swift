/// One HTTP route check: where to send which request, and what a healthy answer looks like.
///
/// Everything a probe does is in here: nothing in the daemon's environment (proxy variables, a
/// netrc, a CA bundle variable) changes where it connects or what it accepts.
public struct ProbeRequest: Sendable, Equatable {
    /// The default bound on how much of a response body a probe reads: 1 MiB.
    public static let defaultMaxBodyBytes = 1 << 20
    /// How many redirects a route that follows them may take.
    public static let maxRedirects = 5

    /// An absolute `http://` or `https://` URL. With `unixSocket`, its host only fills the `Host:`
    /// header: the connection goes to the socket.
    public var url: String
    public var method: ProbeMethod
    /// The request body of a `POST`; ignored otherwise.
    public var body: String?
    /// Extra request headers; their values are never logged.
    public var headers: [ProbeHeader]
    /// The HTTP statuses a healthy service answers with.
    public var expectStatus: StatusExpectation
    /// Bytes the body must contain (a substring match on the bytes read); `nil` skips the check.
    public var expectBody: String?
    /// Further checks of the body: regular expressions, JSON fields. All must hold.
    public var bodyChecks: [BodyCheck]
    /// The bound on the whole exchange, from resolving the host to the last body byte.
    public var timeout: Duration
    /// The bound on establishing the connection; `nil` uses `timeout`.
    public var connectTimeout: Duration?
    /// How many body bytes the probe reads at most; a longer body is `responseTooLarge`.
    public var maxBodyBytes: Int
    /// Follow `Location:` (up to `maxRedirects`, http and https only); off unless a route asks.
    public var followRedirects: Bool
    /// A PEM file of CA certificates to trust instead of the system's; verification stays on.
    public var caFile: String?
    /// Connect to this AF_UNIX socket instead of the URL's host and port.
    public var unixSocket: String?

    public init(
        url: String,
        method: ProbeMethod = .get,
        body: String? = nil,
        headers: [ProbeHeader] = [],
        expectStatus: StatusExpectation = 200,
        expectBody: String? = nil,
        bodyChecks: [BodyCheck] = [],
        timeout: Duration,
        connectTimeout: Duration? = nil,
        maxBodyBytes: Int = ProbeRequest.defaultMaxBodyBytes,
        followRedirects: Bool = false,
        caFile: String? = nil,
        unixSocket: String? = nil
    ) {
        self.url = url
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
        self.unixSocket = unixSocket
    }

    /// How the route is named in messages: the URL, or `unix:/run/app.sock /api/info`.
    public var displayTarget: String {
        guard let unixSocket else { return url }
        return "unix:\(unixSocket) \(Self.pathAndQuery(of: url))"
    }

    /// The part of `url` after the authority, `/` when there is none.
    static func pathAndQuery(of url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
        return String(rest[slash...])
    }

    /// `host:port` as written in the URL (default port by scheme), for messages about an address
    /// that was never reached.
    var configuredAddress: String {
        if let unixSocket { return unixSocket }
        guard let schemeEnd = url.firstRange(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        var authority = String(rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" })
        if let at = authority.lastIndex(of: "@") { authority = String(authority[authority.index(after: at)...]) }
        let hasPort =
            authority.hasPrefix("[")
            ? authority.contains("]:") : authority.contains(":")
        if hasPort { return authority }
        return authority + (url.lowercased().hasPrefix("https://") ? ":443" : ":80")
    }
}
