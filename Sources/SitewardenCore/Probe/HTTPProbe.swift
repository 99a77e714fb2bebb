import CCurl

/// Sends a route's request with libcurl and judges the answer against its `ProbeRequest`.
///
/// It talks to exactly the configured address: no proxy (whatever the environment says), no
/// redirects unless the route follows them, TLS verification always on (a route's `caFile`
/// replaces the system's CAs, never turns checking off), at most `maxBodyBytes` read, and no
/// signals for timeouts. `run` blocks for up to the request's timeout, so call it from a worker
/// queue; `ProbeSession` runs several at once.
public struct HTTPProbe: Sendable {
    public init() {}

    public func run(_ request: ProbeRequest) -> ProbeResult {
        ProbeSession().run([request])[0]
    }

    static func configure(
        _ handle: CurlEasyHandle,
        for request: ProbeRequest,
        body: ResponseBody,
        headers: CurlStringList
    ) throws(CurlSetupError) {
        try handle.set(CURLOPT_URL, request.url)
        try handle.set(CURLOPT_PROTOCOLS_STR, "http,https")
        switch request.method {
        case .get:
            try handle.set(CURLOPT_HTTPGET, 1)
        case .head:
            try handle.set(CURLOPT_NOBODY, 1)
        case .post:
            let bytes = Array((request.body ?? "").utf8)
            try handle.set(CURLOPT_POST, 1)
            try handle.set(CURLOPT_POSTFIELDSIZE, bytes.count)
            try handle.setCopiedPostFields(bytes)
        }
        try handle.set(CURLOPT_FOLLOWLOCATION, request.followRedirects ? 1 : 0)
        if request.followRedirects {
            try handle.set(CURLOPT_MAXREDIRS, ProbeRequest.maxRedirects)
            try handle.set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        }
        // Timeouts must not use SIGALRM: the daemon is multi-threaded and owns its signals.
        try handle.set(CURLOPT_NOSIGNAL, 1)
        // When a lookup outlives the timeout, libcurl would otherwise wait for its resolver thread
        // when the transfer ends, for as long as glibc keeps retrying (15 s and more for a silent
        // nameserver), blocking the cycle; with QUICK_EXIT the thread is left to finish alone.
        try handle.set(CURLOPT_QUICK_EXIT, 1)
        try handle.set(CURLOPT_TIMEOUT_MS, milliseconds(request.timeout))
        try handle.set(CURLOPT_CONNECTTIMEOUT_MS, milliseconds(request.connectTimeout ?? request.timeout))
        // An empty proxy disables proxies, including http_proxy/ALL_PROXY from the environment;
        // NOPROXY "*" says the same again should a proxy ever be configured.
        try handle.set(CURLOPT_PROXY, "")
        try handle.set(CURLOPT_NOPROXY, "*")
        try handle.set(CURLOPT_SSL_VERIFYPEER, 1)
        try handle.set(CURLOPT_SSL_VERIFYHOST, 2)
        if let caFile = request.caFile {
            // Only the route's CAs: the system directory would trust every public CA besides.
            try handle.set(CURLOPT_CAINFO, caFile)
            try handle.set(CURLOPT_CAPATH, pointer: nil)
        }
        if let socket = request.unixSocket {
            try handle.set(CURLOPT_UNIX_SOCKET_PATH, socket)
        }
        try handle.set(CURLOPT_USERAGENT, "sitewarden/\(sitewardenVersion)")
        try handle.set(CURLOPT_HTTPHEADER, list: headers)
        try handle.setWriteFunction(ResponseBody.writeCallback)
        try handle.set(CURLOPT_WRITEDATA, pointer: Unmanaged.passUnretained(body).toOpaque())
    }

    /// Ranks what went wrong: a wrong status is reported even when the body was also too long,
    /// because the status is what an operator acts on.
    static func verdict(
        for request: ProbeRequest,
        code: CURLcode,
        status: Int?,
        body: ResponseBody,
        handle: CurlEasyHandle
    ) -> ProbeVerdict {
        if body.overflowed {
            if let status, !request.expectStatus.accepts(status) {
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
        guard request.expectStatus.accepts(status) else {
            return .unexpectedStatus(expected: request.expectStatus, actual: status)
        }
        guard request.method != .head else { return .passed }
        if let expected = request.expectBody, !body.contains(expected) {
            return .bodyMismatch(expected: expected)
        }
        for check in request.bodyChecks {
            if let failure = check.failure(in: body.bytes) { return .bodyCheckFailed(failure) }
        }
        return .passed
    }

    /// What makes a request unsendable before libcurl sees it, or `nil`.
    static func problem(with request: ProbeRequest) -> String? {
        let lowercasedURL = request.url.lowercased()
        if request.url.utf8.contains(0) || (request.body?.utf8.contains(0) ?? false) {
            return "the URL or body contains a NUL byte"
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
        if let socket = request.unixSocket, !socket.hasPrefix("/") {
            return "the unix socket path must be absolute, not '\(socket)'"
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

    static func summary(
        of request: ProbeRequest,
        verdict: ProbeVerdict,
        status: Int?,
        elapsed: Duration,
        address: String
    ) -> String {
        let head = "\(request.method.rawValue) \(oneLine(request.displayTarget)) →"
        let statusText = status.map(String.init) ?? "no status"
        switch verdict {
        case .passed:
            return "\(head) \(statusText)"
        case .unexpectedStatus(let expected, let actual):
            return "\(head) \(actual) (expected \(expected))"
        case .bodyMismatch(let expected):
            return "\(head) \(statusText) but the body lacks \"\(oneLine(expected, limit: 80))\""
        case .bodyCheckFailed(let failure):
            return "\(head) \(statusText) but \(oneLine(failure, limit: 200))"
        case .timedOut:
            let limit = milliseconds(request.timeout)
            return "\(head) timed out after \(milliseconds(elapsed)) ms (limit \(limit) ms; tried \(oneLine(address)))"
        case .connectionFailed(let message):
            return "\(head) connection failed: \(oneLine(message)) (tried \(oneLine(address)))"
        case .invalidRequest(let message):
            return "\(head) invalid request: \(oneLine(message))"
        case .responseTooLarge(let limit):
            return "\(head) \(statusText) with a body over \(limit) bytes"
        }
    }

    /// `text` with control characters escaped, so that a summary stays one journal line, and cut
    /// to `limit` characters.
    static func oneLine(_ text: String, limit: Int = 300) -> String {
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
