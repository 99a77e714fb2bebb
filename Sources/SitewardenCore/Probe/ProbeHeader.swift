import Glibc

/// One request header; its value is written in the configuration, or read from a file or the
/// environment at each probe, so a rotated API key is picked up. Values are never logged.
public struct ProbeHeader: Sendable, Equatable, CustomStringConvertible {
    /// Where the value comes from.
    public enum Source: Sendable, Equatable {
        case literal(String)
        /// The file's contents, without trailing line breaks (an API key file written by `echo`).
        case file(String)
        /// The daemon's environment variable (`Environment=` or a credential the unit passes in).
        case environment(String)
    }

    public var name: String
    public var source: Source

    public init(name: String, source: Source) {
        self.name = name
        self.source = source
    }

    /// Names the header and its source, never its value.
    public var description: String {
        switch source {
        case .literal: "header \(name)"
        case .file(let path): "header \(name) (from \(path))"
        case .environment(let variable): "header \(name) (from $\(variable))"
        }
    }

    /// Why a header cannot be sent; the message names the header and where its value comes from.
    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    /// `Name: value`, with the value fetched now.
    func line() throws(Unavailable) -> String {
        let value: String
        switch source {
        case .literal(let text):
            value = text
        case .file(let path):
            do {
                var text = String(decoding: try readWholeFile(path), as: UTF8.self)
                while text.last == "\n" || text.last == "\r" { text.removeLast() }
                value = text
            } catch {
                throw Unavailable(description: "\(self): \(error)")
            }
        case .environment(let variable):
            guard let raw = getenv(variable) else { throw Unavailable(description: "\(self): the variable is not set") }
            value = String(cString: raw)
        }
        // A line break would end the header and let the value forge others.
        guard !value.contains(where: { $0 == "\n" || $0 == "\r" }), !value.utf8.contains(0) else {
            throw Unavailable(description: "\(self): the value contains a line break or NUL byte")
        }
        return "\(name): \(value)"
    }
}
