import FoundationEssentials

/// `name == "Tunely Server"`: the body is JSON, and the value at a path equals a JSON literal.
///
/// A path is keys joined by `.` with `[N]` for array elements (`data.items[0].id`); the value
/// is any JSON literal (`"text"`, `3`, `true`, `null`).
public struct JSONFieldCheck: Sendable, Equatable, CustomStringConvertible {
    /// One step of a path.
    public enum Step: Sendable, Equatable {
        case key(String)
        case index(Int)
    }

    public var path: [Step]
    public var expected: JSONValue
    /// The path as written, for messages.
    public var pathText: String

    /// Why an expression cannot be read.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ expression: String) throws(ParseError) -> JSONFieldCheck {
        guard let equals = expression.firstRange(of: "==") else {
            throw ParseError(
                description: "expected 'path == value' (e.g. name == \"Tunely Server\"), found '\(expression)'")
        }
        let pathText = trimmed(expression[..<equals.lowerBound])
        let literal = trimmed(expression[equals.upperBound...])
        let path = try steps(of: pathText)
        // Decoding inside an array accepts any literal, whatever the decoder thinks of top-level fragments.
        guard let decoded = try? JSONDecoder().decode([JSONValue].self, from: Data("[\(literal)]".utf8)),
            decoded.count == 1, !literal.isEmpty
        else {
            throw ParseError(description: "the value '\(literal)' is not a JSON literal (strings need double quotes)")
        }
        return JSONFieldCheck(path: path, expected: decoded[0], pathText: pathText)
    }

    private static func trimmed(_ text: Substring) -> String {
        String(text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }

    private static func steps(of text: String) throws(ParseError) -> [Step] {
        guard !text.isEmpty else { throw ParseError(description: "the path before '==' is empty") }
        var steps: [Step] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            var rest = Substring(part)
            let key = rest.prefix { $0 != "[" }
            rest = rest.dropFirst(key.count)
            if !key.isEmpty { steps.append(.key(String(key))) }
            while rest.first == "[" {
                guard let close = rest.firstIndex(of: "]"),
                    let index = Int(rest[rest.index(after: rest.startIndex)..<close]),
                    index >= 0
                else { throw ParseError(description: "bad index in path '\(text)': write [0], [1], …") }
                steps.append(.index(index))
                rest = rest[rest.index(after: close)...]
            }
            guard rest.isEmpty, !(key.isEmpty && steps.isEmpty) else {
                throw ParseError(description: "bad path '\(text)': write keys joined by '.', e.g. data.items[0].id")
            }
        }
        return steps
    }

    public var description: String { "\(pathText) == \(expected)" }

    /// Why `body` fails the check, or `nil` when it holds.
    func failure(in body: [UInt8]) -> String? {
        guard let document = try? JSONDecoder().decode(JSONValue.self, from: Data(body)) else {
            return "the body is not JSON (wanted \(self))"
        }
        var value = document
        for step in path {
            switch (step, value) {
            case (.key(let key), .object(let members)) where members[key] != nil:
                value = members[key]!
            case (.index(let index), .array(let elements)) where index < elements.count:
                value = elements[index]
            default:
                return "the JSON body has no \(pathText) (wanted \(self))"
            }
        }
        return value == expected ? nil : "\(pathText) is \(value), expected \(expected)"
    }
}
