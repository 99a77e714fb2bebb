/// A TOML value as parsed, with every table and array element positioned in its source.
enum TOMLValue: Sendable, Equatable {
    case table([TOMLEntry])
    case array([TOMLNode])
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case dateTime(TOMLDateTime)

    /// The kind's name as problems print it: "expected a string, found integer".
    var kindName: String {
        switch self {
        case .table: "table"
        case .array: "array"
        case .string: "string"
        case .integer: "integer"
        case .float: "float"
        case .boolean: "boolean"
        case .dateTime(let value): value.kindName
        }
    }
}
