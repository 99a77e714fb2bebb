/// How a probe ended: passed, or the first way the answer (or its absence) was unhealthy.
public enum ProbeVerdict: Sendable, Equatable {
    case passed
    case unexpectedStatus(expected: StatusExpectation, actual: Int)
    /// The status was right but the body lacked the expected text.
    case bodyMismatch(expected: String)
    /// The status was right but a regular expression or JSON field check failed; the text says how.
    case bodyCheckFailed(String)
    /// The whole exchange did not finish within the request's timeout.
    case timedOut
    /// No usable HTTP answer: refused, reset, unresolvable, TLS failure, malformed reply.
    /// The text is libcurl's message, which names the address where it knows it.
    case connectionFailed(String)
    /// The request itself cannot be sent (bad URL, unsupported scheme, non-positive timeout).
    case invalidRequest(String)
    /// The body was longer than the request's `maxBodyBytes`; reading stopped there.
    case responseTooLarge(limit: Int)
}

extension ProbeVerdict {
    /// One word for journal fields and scripts (`SITEWARDEN_REASON=`).
    public var name: String {
        switch self {
        case .passed: "passed"
        case .unexpectedStatus: "unexpected-status"
        case .bodyMismatch, .bodyCheckFailed: "body-mismatch"
        case .timedOut: "timeout"
        case .connectionFailed: "connection-failed"
        case .invalidRequest: "invalid-request"
        case .responseTooLarge: "response-too-large"
        }
    }
}
