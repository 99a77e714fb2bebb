import Glibc

/// A failure to reach systemd or to have it act on a unit: which unit, at which step, and why.
///
/// Reads like "could not restart as-dispatch.service: RestartUnit: org.freedesktop.systemd1.NoSuchUnit:
/// Unit as-dispatch.service not found."
public struct UnitControlError: Error, Sendable, CustomStringConvertible {
    /// Where in the conversation with systemd the failure happened.
    public enum Step: Sendable, Equatable, CustomStringConvertible {
        /// Opening the connection to a bus address (or "the system bus").
        case connect(address: String)
        /// Adding the `JobRemoved` match or calling `Subscribe`.
        case subscribe
        case restartUnit
        /// Waiting for `JobRemoved` of the job `RestartUnit` returned.
        case waitForJob(path: String)
        case getUnit
        case loadUnit
        /// Reading a property of the unit with `org.freedesktop.DBus.Properties.Get`.
        case readProperty(String)
        case resetFailedUnit

        public var description: String {
            switch self {
            case .connect(let address): "connect to \(address)"
            case .subscribe: "subscribe"
            case .restartUnit: "RestartUnit"
            case .waitForJob(let path): "wait for job \(path)"
            case .getUnit: "GetUnit"
            case .loadUnit: "LoadUnit"
            case .readProperty(let name): "Get \(name)"
            case .resetFailedUnit: "ResetFailedUnit"
            }
        }
    }

    /// Why the step failed.
    public enum Cause: Sendable, Equatable, CustomStringConvertible {
        /// sd-bus itself failed, e.g. connecting to a socket that does not exist.
        case errno(Int32)
        /// The peer answered with a D-Bus error, e.g. `org.freedesktop.systemd1.NoSuchUnit`.
        case busError(name: String, message: String)
        /// The step did not finish before the caller's deadline.
        case deadlinePassed(Duration)
        /// systemd answered with something sitewarden cannot interpret.
        case unexpectedReply(String)
        /// The caller passed something that cannot be sent, such as a unit name with a NUL byte.
        case invalidArgument(String)

        public var description: String {
            switch self {
            case .errno(let code):
                "\(String(cString: strerror(code))) (errno \(code))"
            case .busError(let name, let message):
                message.isEmpty ? name : "\(name): \(message)"
            case .deadlinePassed(let timeout):
                "no answer within \(timeout)"
            case .unexpectedReply(let text), .invalidArgument(let text):
                text
            }
        }
    }

    /// The unit acted on; `nil` while connecting.
    public var unit: String?
    public var step: Step
    public var cause: Cause
    /// When a fallback was tried, why the first choice failed (e.g. the system bus before the private socket).
    public var earlierFailure: String?

    public init(unit: String?, step: Step, cause: Cause, earlierFailure: String? = nil) {
        self.unit = unit
        self.step = step
        self.cause = cause
        self.earlierFailure = earlierFailure
    }

    public var description: String {
        let action =
            switch step {
            case .connect: "connect to systemd"
            case .subscribe, .restartUnit, .waitForJob: "restart \(unit ?? "a unit")"
            case .getUnit, .loadUnit, .readProperty: "read the state of \(unit ?? "a unit")"
            case .resetFailedUnit: "reset the failed state of \(unit ?? "a unit")"
            }
        let earlier = earlierFailure.map { " (after \($0))" } ?? ""
        return "could not \(action): \(step): \(cause)\(earlier)"
    }
}
