/// A TOML value together with the position it starts at, when toml++ recorded one.
struct TOMLNode: Sendable, Equatable {
    var value: TOMLValue
    var position: TOMLPosition?
}
