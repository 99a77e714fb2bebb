/// A check of a response body beyond `expect_body`'s substring: a regular expression or a JSON field.
public enum BodyCheck: Sendable, Equatable, CustomStringConvertible {
    /// The body, read as UTF-8 (invalid bytes replaced), contains a match of this pattern
    /// (Swift `Regex` syntax, which reads PCRE-style patterns).
    case matches(regex: String)
    /// The body is JSON and the field at the path equals the value.
    case jsonField(JSONFieldCheck)

    public var description: String {
        switch self {
        case .matches(let pattern): "body matches /\(pattern)/"
        case .jsonField(let check): "\(check)"
        }
    }

    /// What is wrong with a pattern, or `nil` when Swift's `Regex` compiles it.
    public static func problem(withPattern pattern: String) -> String? {
        do {
            _ = try Regex(pattern)
            return nil
        } catch {
            return "not a regular expression: \(error)"
        }
    }

    /// Why `body` fails the check, or `nil` when it holds.
    func failure(in body: [UInt8]) -> String? {
        switch self {
        case .matches(let pattern):
            // Patterns are checked when the configuration loads; one that still fails is reported, not trapped on.
            guard let regex = try? Regex(pattern) else { return "/\(pattern)/ is not a regular expression" }
            let text = String(decoding: body, as: UTF8.self)
            return text.contains(regex) ? nil : "the body has no match for /\(pattern)/"
        case .jsonField(let check):
            return check.failure(in: body)
        }
    }
}
