import Glibc

/// A failed system call: which call, on what, and the errno it returned.
///
/// Every filesystem error in sitewarden is one of these, so a message always names the step
/// and the path ("open /srv/venv/.../server.py: Permission denied").
public struct SystemError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The call that failed, e.g. `open`, `rename`, `fsync`.
    public var call: String
    /// The path (or other object) the call was made on.
    public var subject: String
    /// The errno value.
    public var code: Int32
    /// Said instead of errno's text when the failure is sitewarden's own check ("not a regular file").
    public var reason: String?

    public init(_ call: String, _ subject: String, code: Int32 = errno, reason: String? = nil) {
        self.call = call
        self.subject = subject
        self.code = code
        self.reason = reason
    }

    /// The call and the cause, for messages that name the path already.
    public var callAndCause: String {
        "\(call): \(reason ?? String(cString: strerror(code)))"
    }

    public var description: String {
        "\(call) \(subject): \(reason ?? String(cString: strerror(code)))"
    }
}
