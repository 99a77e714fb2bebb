/// One key of a TOML table, where the key is written, and its value.
struct TOMLEntry: Sendable, Equatable {
    var key: String
    var keyPosition: TOMLPosition?
    var node: TOMLNode
}
