/// Why toml++ could not parse a document, and where it stopped.
struct TOMLParseError: Error, Sendable, Equatable {
    var message: String
    var position: TOMLPosition?
}
