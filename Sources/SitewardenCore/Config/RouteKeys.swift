/// Readers for the value shapes only route tables use: status lists and ranges, header tables,
/// one-or-many strings.
extension TableReader {
    /// `200`, `[200, 204]`, `"2xx"` or `"200-299"` (arrays may mix codes and ranges).
    mutating func statusExpectation(_ key: String, default value: Int) -> StatusExpectation {
        guard let node = node(key) else { return StatusExpectation(integerLiteral: value) }
        let elements: [TOMLNode]
        var isArray = false
        switch node.value {
        case .array(let items):
            elements = items
            isArray = true
        default:
            elements = [node]
        }
        if isArray && elements.isEmpty {
            report("\(name(of: key)): expected at least one status", at: node.position)
        }
        var ranges: [ClosedRange<Int>] = []
        for (index, element) in elements.enumerated() {
            let label = isArray ? "\(name(of: key))[\(index)]" : name(of: key)
            switch element.value {
            case .integer(let code):
                if let problem = ConfigRules.httpStatus(code) {
                    report("\(label): \(problem)", at: element.position)
                } else {
                    ranges.append(Int(code)...Int(code))
                }
            case .string(let text):
                if let range = StatusExpectation.range(parsing: text) {
                    ranges.append(range)
                } else {
                    report(
                        "\(label): expected a status like 200, \"2xx\" or \"200-299\" within 100-599, found '\(text)'",
                        at: element.position)
                }
            default:
                report(
                    "\(label): expected a status (200), a range (\"2xx\", \"200-299\") or an array of them, "
                        + "found \(element.value.kindName)", at: element.position)
            }
        }
        return ranges.isEmpty ? StatusExpectation(integerLiteral: value) : StatusExpectation(ranges)
    }

    /// A string or an array of strings; empty when absent.
    mutating func stringOrStrings(_ key: String, check: (String) -> String? = ConfigRules.notEmpty) -> [String] {
        guard let node = node(key) else { return [] }
        if case .string = node.value {
            return string(key, check: check).map { [$0] } ?? []
        }
        return strings(key, check: check)
    }

    /// `headers = { Accept = "application/json", X-Api-Key = { file = "/etc/…" }, Authorization = { env = "TOKEN" } }`.
    mutating func headers(_ key: String) -> [ProbeHeader] {
        guard let node = node(key) else { return [] }
        guard case .table(let entries) = node.value else {
            report(
                "\(name(of: key)): expected a table of header names and values, found \(node.value.kindName)",
                at: node.position)
            return []
        }
        var headers: [ProbeHeader] = []
        // toml++ hands tables over sorted by key; requests send headers in the order they are written.
        let written = entries.sorted {
            ($0.keyPosition?.line ?? 0, $0.keyPosition?.column ?? 0) < (
                $1.keyPosition?.line ?? 0, $1.keyPosition?.column ?? 0
            )
        }
        for entry in written {
            let label = "\(name(of: key)).\(entry.key)"
            if let problem = ConfigRules.headerName(entry.key) {
                report("\(label): \(problem)", at: entry.keyPosition)
                continue
            }
            switch entry.node.value {
            case .string(let value):
                if let problem = ConfigRules.plainText(value) {
                    report("\(label): \(problem)", at: entry.node.position)
                }
                headers.append(ProbeHeader(name: entry.key, source: .literal(value)))
            case .table(let source) where source.count == 1 && ["file", "env"].contains(source[0].key):
                guard case .string(let reference) = source[0].node.value else {
                    report("\(label).\(source[0].key): expected a string", at: source[0].node.position)
                    continue
                }
                if source[0].key == "file" {
                    if let problem = ConfigRules.absolutePath(reference) {
                        report("\(label).file: \(problem)", at: source[0].node.position)
                    }
                    headers.append(ProbeHeader(name: entry.key, source: .file(reference)))
                } else {
                    if let problem = ConfigRules.environmentName(reference) {
                        report("\(label).env: \(problem)", at: source[0].node.position)
                    }
                    headers.append(ProbeHeader(name: entry.key, source: .environment(reference)))
                }
            default:
                report(
                    "\(label): expected a string, { file = \"/path\" } or { env = \"VARIABLE\" }, "
                        + "found \(entry.node.value.kindName)", at: entry.node.position)
            }
        }
        return headers
    }
}

extension ConfigRules {
    /// RFC 9110 token characters; anything else would break the request line.
    static func headerName(_ value: String) -> String? {
        let allowed = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        return !value.isEmpty && value.allSatisfy(allowed.contains) ? nil : "'\(value)' is not a valid header name"
    }

    static func environmentName(_ value: String) -> String? {
        let allowed = Set("_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        return !value.isEmpty && value.allSatisfy(allowed.contains) && value.first?.isNumber == false
            ? nil : "'\(value)' is not an environment variable name"
    }

    static func routeURL(_ value: String) -> String? {
        value.hasPrefix("unix:") ? nil : httpURL(value)
    }

    static func method(_ value: String) -> String? {
        ProbeMethod(rawValue: value) == nil ? "must be \"GET\", \"HEAD\" or \"POST\", found '\(value)'" : nil
    }
}
