/// The HTTP statuses a route accepts: single codes and inclusive ranges (`200`, `[200, 204]`, `"2xx"`).
public struct StatusExpectation: Sendable, Equatable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public var ranges: [ClosedRange<Int>]

    public init(_ ranges: [ClosedRange<Int>]) {
        self.ranges = ranges
    }

    public init(integerLiteral value: Int) {
        ranges = [value...value]
    }

    public func accepts(_ status: Int) -> Bool {
        ranges.contains { $0.contains(status) }
    }

    /// `200`, `200, 204`, `200-299`.
    public var description: String {
        ranges.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ", ")
    }

    /// Reads one element as the configuration writes it: `"204"`, `"2xx"` or `"200-299"`; `nil`
    /// when it is none of these or leaves 100–599.
    public static func range(parsing text: String) -> ClosedRange<Int>? {
        let valid = 100...599
        if text.count == 3, let first = text.first?.wholeNumberValue, text.dropFirst().lowercased() == "xx" {
            let range = (first * 100)...(first * 100 + 99)
            return valid.contains(range.lowerBound) ? range : nil
        }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count),
            let low = Int(parts[0].trimmingSpaces), let high = Int(parts[parts.count - 1].trimmingSpaces),
            low <= high, valid.contains(low), valid.contains(high)
        else { return nil }
        return low...high
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
