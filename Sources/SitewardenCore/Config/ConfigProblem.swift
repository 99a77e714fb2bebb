/// One thing wrong with a configuration file, and where it is.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    /// The configuration file.
    public var path: String
    /// 1-based line, when the problem has a place in the file.
    public var line: Int?
    /// 1-based column, when the problem has a place in the file.
    public var column: Int?
    public var message: String

    public init(path: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.path = path
        self.line = line
        self.column = column
        self.message = message
    }

    /// A problem at a place in a file, or at none; a position that names its file (a drop-in)
    /// wins over `path`.
    init(path: String, position: TOMLPosition?, message: String) {
        self.init(path: position?.file ?? path, line: position?.line, column: position?.column, message: message)
    }

    /// `path:line:column: message`, leaving out what is unknown.
    public var description: String {
        switch (line, column) {
        case (.some(let line), .some(let column)): "\(path):\(line):\(column): \(message)"
        case (.some(let line), .none): "\(path):\(line): \(message)"
        default: "\(path): \(message)"
        }
    }
}
