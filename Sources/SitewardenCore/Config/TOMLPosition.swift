/// Where a TOML key or value starts in its source, counted from 1 as toml++ counts.
struct TOMLPosition: Sendable, Equatable, Comparable {
    var line: Int
    var column: Int

    static func < (lhs: TOMLPosition, rhs: TOMLPosition) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }
}
