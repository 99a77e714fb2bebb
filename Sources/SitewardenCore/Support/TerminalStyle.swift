import Glibc

/// Colour for text bound for a person at a terminal, and none anywhere else: only when the stream
/// is a terminal, `NO_COLOR` is unset or empty (no-color.org) and `TERM` is not `dumb`.
public struct TerminalStyle: Sendable {
    /// SGR codes of the few colours sitewarden uses.
    public enum Colour: String, Sendable {
        case red = "31"
        case green = "32"
        case yellow = "33"
        case cyan = "36"
        case bold = "1"
    }

    public let enabled: Bool

    public init(enabled: Bool) {
        self.enabled = enabled
    }

    public static let plain = TerminalStyle(enabled: false)

    /// The style for a descriptor (STDOUT_FILENO, STDERR_FILENO), from the environment.
    public static func forDescriptor(_ descriptor: Int32) -> TerminalStyle {
        TerminalStyle(
            enabled: isTerminal(descriptor) && environment("NO_COLOR").isEmpty && environment("TERM") != "dumb")
    }

    static func isTerminal(_ descriptor: Int32) -> Bool {
        isatty(descriptor) == 1
    }

    private static func environment(_ name: String) -> String {
        getenv(name).map { String(cString: $0) } ?? ""
    }

    public func paint(_ text: String, _ colour: Colour) -> String {
        enabled ? "\u{1B}[\(colour.rawValue)m\(text)\u{1B}[0m" : text
    }

    /// A state's word in the colour of its seriousness.
    func paint(state: TargetState) -> String {
        switch state {
        case .healthy: paint(state.rawValue, .green)
        case .drifted, .degraded, .flapping: paint(state.rawValue, .red)
        case .restoring: paint(state.rawValue, .cyan)
        case .observeOnly, .probeFailing, .notCovered, .versionChanged, .unknown: paint(state.rawValue, .yellow)
        }
    }
}
