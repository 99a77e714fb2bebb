/// The duration syntax of the configuration: a whole number with a unit ("500ms", "30s", "5m", "1h"),
/// or an integer number of seconds.
enum ConfigDuration {
    /// Why a duration was refused; the description completes "interval: …".
    enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed(String)
        case notPositive(String)
        case tooLarge(String)

        var description: String {
            switch self {
            case .malformed(let text):
                "invalid duration '\(text)': write a whole number and a unit (ms, s, m or h), like \"30s\""
            case .notPositive(let text):
                "duration must be positive, found \(text)"
            case .tooLarge(let text):
                "duration \(text) is too large (at most 24 days)"
            }
        }
    }

    /// Each unit's length in milliseconds; "ms" comes before "s" so that "500ms" is not read as "500m" + "s".
    private static let units: [(suffix: String, milliseconds: Int64)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000),
    ]

    /// The longest duration accepted: longer ones are typos, and timers take nanosecond counts.
    static let maximum: Duration = .seconds(24 * 24 * 3600)

    /// Parses the string form.
    static func parse(_ text: String) throws(Failure) -> Duration {
        guard let unit = units.first(where: { text.hasSuffix($0.suffix) && isNumber(text.dropLast($0.suffix.count)) })
        else {
            throw .malformed(text)
        }
        guard let amount = Int64(text.dropLast(unit.suffix.count)) else {
            throw .tooLarge("'\(text)'")
        }
        guard amount > 0 else {
            throw .notPositive("'\(text)'")
        }
        let (milliseconds, overflow) = amount.multipliedReportingOverflow(by: unit.milliseconds)
        guard !overflow, Duration.milliseconds(milliseconds) <= maximum else {
            throw .tooLarge("'\(text)'")
        }
        return .milliseconds(milliseconds)
    }

    /// Checks the integer form, a number of seconds.
    static func seconds(_ amount: Int64) throws(Failure) -> Duration {
        guard amount > 0 else {
            throw .notPositive(String(amount))
        }
        guard amount <= maximum.components.seconds else {
            throw .tooLarge(String(amount))
        }
        return .seconds(amount)
    }

    /// An optional minus sign and at least one ASCII digit; the sign is let through so that "-5s" is
    /// reported as not positive rather than as malformed.
    private static func isNumber(_ text: Substring) -> Bool {
        let digits = text.hasPrefix("-") ? text.dropFirst() : text
        return !digits.isEmpty && digits.allSatisfy { ("0"..."9").contains($0) }
    }
}
