/// The request methods a probe sends.
public enum ProbeMethod: String, Sendable, Equatable, CaseIterable {
    case get = "GET"
    /// Status and headers only; body checks do not apply.
    case head = "HEAD"
    /// Sends `ProbeRequest.body`.
    case post = "POST"
}
