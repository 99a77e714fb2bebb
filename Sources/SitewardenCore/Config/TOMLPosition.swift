/// Where a TOML key or value starts in its source, counted from 1 as toml++ counts.
///
/// `file` names the source once several files are merged (the main configuration and its
/// drop-ins), so a problem names the file it is in; the parser leaves it nil.
struct TOMLPosition: Sendable, Equatable, Comparable {
    var line: Int
    var column: Int
    var file: String? = nil

    static func < (lhs: TOMLPosition, rhs: TOMLPosition) -> Bool {
        (lhs.line, lhs.column) < (rhs.line, rhs.column)
    }
}
