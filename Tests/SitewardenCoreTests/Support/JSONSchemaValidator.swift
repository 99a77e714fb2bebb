import Foundation

/// Checks a JSON value against the subset of JSON Schema (2020-12) that docs/*.schema.json use:
/// `type`, `required`, `properties`, `items`, `enum`, `const`, `minimum` and local `$ref`s into
/// `$defs`. A keyword it does not know is an error, so a schema never silently checks less than
/// it says.
struct JSONSchemaValidator {
    let root: [String: Any]

    static let knownKeywords: Set<String> = [
        "$schema", "$id", "$defs", "$ref", "title", "description", "type", "required", "properties", "items", "enum",
        "const", "minimum",
    ]

    init(schemaFile: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: schemaFile))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError("\(schemaFile): not a JSON object")
        }
        root = object
    }

    /// Every way `json` breaks the schema, as `path: what`; empty when it conforms.
    func problems(in json: Data) throws -> [String] {
        let value = try JSONSerialization.jsonObject(with: json, options: [.fragmentsAllowed])
        return check(value, against: root, at: "$")
    }

    private func check(_ value: Any, against schema: [String: Any], at path: String) -> [String] {
        var problems: [String] = []
        for keyword in schema.keys where !Self.knownKeywords.contains(keyword) {
            problems.append("\(path): the schema uses '\(keyword)', which this validator does not check")
        }
        if let reference = schema["$ref"] as? String {
            guard reference.hasPrefix("#/$defs/"), let defs = root["$defs"] as? [String: Any],
                let target = defs[String(reference.dropFirst("#/$defs/".count))] as? [String: Any]
            else { return problems + ["\(path): unresolvable $ref \(reference)"] }
            problems += check(value, against: target, at: path)
        }
        if let type = schema["type"] as? String, !Self.has(value, type: type) {
            problems.append("\(path): expected \(type), found \(Self.describe(value))")
            return problems
        }
        if let options = schema["enum"] as? [Any], !options.contains(where: { Self.equal($0, value) }) {
            problems.append("\(path): \(Self.describe(value)) is not one of \(options)")
        }
        if let constant = schema["const"], !Self.equal(constant, value) {
            problems.append("\(path): expected \(constant), found \(Self.describe(value))")
        }
        if let minimum = schema["minimum"] as? NSNumber, let number = value as? NSNumber, !Self.isBoolean(value),
            number.doubleValue < minimum.doubleValue
        {
            problems.append("\(path): \(number) is below the minimum \(minimum)")
        }
        if let object = value as? [String: Any] {
            for key in schema["required"] as? [String] ?? [] where object[key] == nil {
                problems.append("\(path): required key '\(key)' is missing")
            }
            for (key, subschema) in schema["properties"] as? [String: [String: Any]] ?? [:] {
                if let member = object[key] { problems += check(member, against: subschema, at: "\(path).\(key)") }
            }
        }
        if let array = value as? [Any], let items = schema["items"] as? [String: Any] {
            for (index, element) in array.enumerated() {
                problems += check(element, against: items, at: "\(path)[\(index)]")
            }
        }
        return problems
    }

    /// JSONSerialization gives `true` and `false` as NSNumbers of ObjC type `c` (char); numbers
    /// in JSON text never come back as chars.
    private static func isBoolean(_ value: Any) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    private static func has(_ value: Any, type: String) -> Bool {
        switch type {
        case "object": value is [String: Any]
        case "array": value is [Any]
        case "string": value is String
        case "boolean": isBoolean(value)
        case "integer":
            !isBoolean(value) && (value as? NSNumber).map { $0.doubleValue == $0.doubleValue.rounded() } == true
        case "number": !isBoolean(value) && value is NSNumber
        case "null": value is NSNull
        default: false
        }
    }

    private static func equal(_ lhs: Any, _ rhs: Any) -> Bool {
        if let left = lhs as? String, let right = rhs as? String { return left == right }
        if isBoolean(lhs) || isBoolean(rhs) {
            return isBoolean(lhs) && isBoolean(rhs) && (lhs as? Bool) == (rhs as? Bool)
        }
        if let left = lhs as? NSNumber, let right = rhs as? NSNumber { return left.doubleValue == right.doubleValue }
        return false
    }

    private static func describe(_ value: Any) -> String {
        switch value {
        case is String: "string \"\(value)\""
        case is [String: Any]: "an object"
        case is [Any]: "an array"
        case is NSNull: "null"
        default: isBoolean(value) ? "boolean \(value)" : "\(value)"
        }
    }
}
