import CCurl

/// Sends one `GET` with libcurl and judges the answer against a `ProbeRequest`.
///
/// `run` blocks for up to the request's timeout, so call it from a worker queue. It never
/// follows redirects, never uses a proxy (whatever the environment says), keeps TLS
/// verification on, reads at most `maxBodyBytes` of the body and uses no signals for timeouts.
public struct HTTPProbe: Sendable {
    public init() {}

    public func run(_ request: ProbeRequest) -> ProbeResult {
        let clock = ContinuousClock()
        let start = clock.now
        let (verdict, status) = exchange(request)
        let elapsed = start.duration(to: clock.now)

        return ProbeResult(
            url: request.url,
            verdict: verdict,
            status: status,
            elapsed: elapsed,
            summary: Self.summary(of: request, verdict: verdict, status: status, elapsed: elapsed)
        )
    }

    private func exchange(_ request: ProbeRequest) -> (ProbeVerdict, Int?) {
        if let problem = Self.problem(with: request) {
            return (.invalidRequest(problem), nil)
        }

        let handle: CurlEasyHandle
        do {
            handle = try CurlEasyHandle()
        } catch {
            return (.connectionFailed("could not set up libcurl: \(error)"), nil)
        }

        let body = ResponseBody(limit: request.maxBodyBytes)
        do {
            try configure(handle, for: request, body: body)
        } catch {
            return (.invalidRequest("\(error)"), nil)
        }

        let code = withExtendedLifetime(body) { handle.perform() }
        let status = handle.responseCode()
        return (
            Self.verdict(for: request, code: code, status: status, body: body, handle: handle), status
        )
    }

    private func configure(
        _ handle: CurlEasyHandle,
        for request: ProbeRequest,
        body: ResponseBody
    ) throws(CurlSetupError) {
        try handle.set(CURLOPT_URL, request.url)
        try handle.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try handle.set(CURLOPT_HTTPGET, 1)
        try handle.set(CURLOPT_FOLLOWLOCATION, 0)
        // Timeouts must not use SIGALRM: the daemon is multi-threaded and owns its signals.
        try handle.set(CURLOPT_NOSIGNAL, 1)
        try handle.set(CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeout))
        try handle.set(
            CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout ?? request.timeout))
        // An empty proxy disables proxies, including http_proxy/ALL_PROXY from the environment;
        // NOPROXY "*" says the same again should a proxy ever be configured.
        try handle.set(CURLOPT_PROXY, "")
        try handle.set(CURLOPT_NOPROXY, "*")
        try handle.set(CURLOPT_SSL_VERIFYPEER, 1)
        try handle.set(CURLOPT_SSL_VERIFYHOST, 2)
        try handle.set(CURLOPT_USERAGENT, "sitewarden/\(sitewardenVersion)")
        try handle.setWriteFunction(ResponseBody.writeCallback)
        try handle.set(CURLOPT_WRITEDATA, pointer: Unmanaged.passUnretained(body).toOpaque())
    }

    /// Ranks what went wrong: a wrong status is reported even when the body was also too long,
    /// because the status is what an operator acts on.
    private static func verdict(
        for request: ProbeRequest,
        code: CURLcode,
        status: Int?,
        body: ResponseBody,
        handle: CurlEasyHandle
    ) -> ProbeVerdict {
        if body.overflowed {
            if let status, status != request.expectStatus {
                return .unexpectedStatus(expected: request.expectStatus, actual: status)
            }
            return .responseTooLarge(limit: body.limit)
        }

        switch code {
        case CURLE_OK:
            break
        case CURLE_OPERATION_TIMEDOUT:
            return .timedOut
        case CURLE_URL_MALFORMAT:
            return .invalidRequest(handle.errorMessage(for: code))
        // CURLE_UNSUPPORTED_PROTOCOL lands here too: with the scheme checked up front, libcurl only
        // returns it for a reply that is not HTTP ("Received HTTP/0.9 when not allowed").
        default:
            return .connectionFailed(handle.errorMessage(for: code))
        }

        guard let status else {
            return .connectionFailed("the server sent no HTTP status")
        }
        guard status == request.expectStatus else {
            return .unexpectedStatus(expected: request.expectStatus, actual: status)
        }
        if let expected = request.expectBody, !body.contains(expected) {
            return .bodyMismatch(expected: expected)
        }
        return .passed
    }

    /// What makes a request unsendable before libcurl sees it, or `nil`.
    private static func problem(with request: ProbeRequest) -> String? {
        let lowercasedURL = request.url.lowercased()
        if request.url.utf8.contains(0) {
            return "the URL contains a NUL byte"
        }
        // libcurl would guess a scheme for "host:port/path"; a configured probe should say what it means.
        if !lowercasedURL.hasPrefix("http://") && !lowercasedURL.hasPrefix("https://") {
            return "the URL must start with http:// or https://"
        }
        if request.timeout <= .zero {
            return "the timeout must be positive, not \(request.timeout)"
        }
        if let connectTimeout = request.connectTimeout, connectTimeout <= .zero {
            return "the connect timeout must be positive, not \(connectTimeout)"
        }
        if request.maxBodyBytes < 0 {
            return "maxBodyBytes must not be negative, not \(request.maxBodyBytes)"
        }
        return nil
    }

    /// Whole milliseconds, rounded up so that a positive bound never becomes libcurl's 0 ("no
    /// timeout"), and capped at ~24 days, beyond which libcurl clamps anyway.
    static func milliseconds(_ duration: Duration) -> Int {
        let cap = Int(Int32.max)
        let (seconds, attoseconds) = duration.components
        guard seconds < Int64(cap / 1000) else { return cap }
        let fraction = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return max(0, Int(seconds) * 1000 + Int(fraction))
    }

    private static func summary(
        of request: ProbeRequest,
        verdict: ProbeVerdict,
        status: Int?,
        elapsed: Duration
    ) -> String {
        let head = "GET \(oneLine(request.url)) →"
        let statusText = status.map(String.init) ?? "no status"
        switch verdict {
        case .passed:
            return "\(head) \(statusText)"
        case .unexpectedStatus(let expected, let actual):
            return "\(head) \(actual) (expected \(expected))"
        case .bodyMismatch(let expected):
            return "\(head) \(statusText) but the body lacks \"\(oneLine(expected, limit: 80))\""
        case .timedOut:
            let limit = milliseconds(request.timeout)
            return "\(head) timed out after \(milliseconds(elapsed)) ms (limit \(limit) ms)"
        case .connectionFailed(let message):
            return "\(head) connection failed: \(oneLine(message))"
        case .invalidRequest(let message):
            return "\(head) invalid request: \(oneLine(message))"
        case .responseTooLarge(let limit):
            return "\(head) \(statusText) with a body over \(limit) bytes"
        }
    }

    /// `text` with control characters escaped, so that a summary stays one journal line, and cut
    /// to `limit` characters.
    private static func oneLine(_ text: String, limit: Int = 300) -> String {
        var result = ""
        for (index, scalar) in text.unicodeScalars.enumerated() {
            if index == limit {
                return result + "…"
            }
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator, .format:
                result += scalar.escaped(asASCII: true)
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
