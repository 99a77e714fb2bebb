/// Reads the keys of one TOML table, recording missing, mistyped, invalid and unknown keys as problems.
///
/// A key that cannot be read yields a placeholder ("" or the default) so that reading goes on and
/// every problem is found; the decoder throws whenever a problem was recorded, so placeholders
/// never reach a caller.
struct TableReader {
    /// The table as messages name it: "[daemon]", "target[0]", "target[0].route[1]".
    let location: String
    private let path: String
    private let keyPrefix: String
    private let position: TOMLPosition?
    private let entries: [TOMLEntry]
    private var readKeys: Set<String> = []
    private var problems: [ConfigProblem] = []

    /// `keyPrefix` starts the dotted name of each key in messages: "daemon." gives "daemon.interval".
    init(entries: [TOMLEntry], at position: TOMLPosition?, location: String, keyPrefix: String, path: String) {
        self.entries = entries
        self.position = position
        self.location = location
        self.keyPrefix = keyPrefix
        self.path = path
    }

    /// The dotted name of a key, as messages print it.
    func name(of key: String) -> String {
        keyPrefix + key
    }

    /// Where the key's value starts.
    func position(of key: String) -> TOMLPosition? {
        entries.first { $0.key == key }?.node.position
    }

    mutating func report(_ message: String, at position: TOMLPosition?) {
        problems.append(ConfigProblem(path: path, position: position, message: message))
    }

    /// The key's value, if present; marks the key as known.
    mutating func node(_ key: String) -> TOMLNode? {
        readKeys.insert(key)
        return entries.first { $0.key == key }?.node
    }

    /// A string that must be present; `check` returns what is wrong with a value.
    mutating func requiredString(_ key: String, check: (String) -> String? = ConfigRules.notEmpty) -> String {
        guard node(key) != nil else {
            report("missing required key '\(key)' in \(location)", at: position)
            return ""
        }
        return string(key, check: check) ?? ""
    }

    /// A string that may be absent.
    mutating func string(_ key: String, check: (String) -> String? = ConfigRules.notEmpty) -> String? {
        guard let node = node(key) else {
            return nil
        }
        guard case .string(let value) = node.value else {
            report("\(name(of: key)): expected a string, found \(node.value.kindName)", at: node.position)
            return nil
        }
        if let problem = check(value) {
            report("\(name(of: key)): \(problem)", at: node.position)
        }
        return value
    }

    /// An integer that may be absent.
    mutating func integer(_ key: String, default value: Int, check: (Int64) -> String?) -> Int {
        guard let node = node(key) else {
            return value
        }
        guard case .integer(let number) = node.value else {
            report("\(name(of: key)): expected an integer, found \(node.value.kindName)", at: node.position)
            return value
        }
        if let problem = check(number) {
            report("\(name(of: key)): \(problem)", at: node.position)
            return value
        }
        return Int(number)
    }

    /// A boolean that may be absent.
    mutating func boolean(_ key: String, default value: Bool) -> Bool {
        guard let node = node(key) else {
            return value
        }
        guard case .boolean(let flag) = node.value else {
            report("\(name(of: key)): expected true or false, found \(node.value.kindName)", at: node.position)
            return value
        }
        return flag
    }

    /// An array of strings that may be absent (empty then).
    mutating func strings(_ key: String, check: (String) -> String? = ConfigRules.notEmpty) -> [String] {
        guard let node = node(key) else {
            return []
        }
        guard case .array(let elements) = node.value else {
            report("\(name(of: key)): expected an array of strings, found \(node.value.kindName)", at: node.position)
            return []
        }
        var values = [String]()
        for (index, element) in elements.enumerated() {
            guard case .string(let value) = element.value else {
                report(
                    "\(name(of: key))[\(index)]: expected a string, found \(element.value.kindName)",
                    at: element.position)
                continue
            }
            if let problem = check(value) {
                report("\(name(of: key))[\(index)]: \(problem)", at: element.position)
            }
            values.append(value)
        }
        return values
    }

    /// A duration, written as a string with a unit or as an integer number of seconds, that may be absent;
    /// `minimum` (named in the problem by its text, with why it is the least) is the shortest one accepted.
    mutating func duration(
        _ key: String, default value: Duration, minimum: (Duration, text: String, why: String)? = nil
    ) -> Duration {
        guard let node = node(key) else {
            return value
        }
        do {
            let duration: Duration
            let written: String
            switch node.value {
            case .string(let text): (duration, written) = (try ConfigDuration.parse(text), "'\(text)'")
            case .integer(let seconds): (duration, written) = (try ConfigDuration.seconds(seconds), String(seconds))
            default:
                report(
                    "\(name(of: key)): expected a duration like \"30s\" or an integer number of seconds, "
                        + "found \(node.value.kindName)",
                    at: node.position
                )
                return value
            }
            if let minimum, duration < minimum.0 {
                report(
                    "\(name(of: key)): must be at least \(minimum.text) (\(minimum.why)), found \(written)",
                    at: node.position)
                return value
            }
            return duration
        } catch {
            report("\(name(of: key)): \(error)", at: node.position)
        }
        return value
    }

    /// A size in bytes, written as a string with a unit ("100MB") or as an integer number of bytes.
    mutating func size(_ key: String, default value: Int) -> Int {
        guard let node = node(key) else {
            return value
        }
        do {
            switch node.value {
            case .string(let text): return try ConfigSize.parse(text)
            case .integer(let bytes): return try ConfigSize.bytes(bytes)
            default:
                report(
                    "\(name(of: key)): expected a size like \"100MB\" or an integer number of bytes, "
                        + "found \(node.value.kindName)",
                    at: node.position
                )
            }
        } catch {
            report("\(name(of: key)): \(error)", at: node.position)
        }
        return value
    }

    /// The tables of an array of tables (`[[key]]`), each with its index in the array and its position;
    /// nil when the key is absent.
    mutating func tables(_ key: String) -> [(index: Int, entries: [TOMLEntry], position: TOMLPosition?)]? {
        guard let node = node(key) else {
            return nil
        }
        guard case .array(let elements) = node.value else {
            report("\(name(of: key)): expected an array of tables, found \(node.value.kindName)", at: node.position)
            return []
        }
        var tables: [(index: Int, entries: [TOMLEntry], position: TOMLPosition?)] = []
        for (index, element) in elements.enumerated() {
            guard case .table(let entries) = element.value else {
                report(
                    "\(name(of: key))[\(index)]: expected a table, found \(element.value.kindName)",
                    at: element.position)
                continue
            }
            tables.append((index, entries, element.position))
        }
        return tables
    }

    /// Records every key that was never asked for, with the known key it was probably meant to
    /// be, then returns all problems of this table. Every key of the table has been asked for by
    /// now, so the keys asked for are the keys this table knows.
    mutating func finish() -> [ConfigProblem] {
        for entry in entries where !readKeys.contains(entry.key) {
            let suggestion = KeySuggestion.closest(to: entry.key, in: readKeys).map { "; did you mean '\($0)'?" } ?? ""
            report("unknown key '\(entry.key)' in \(location)\(suggestion)", at: entry.keyPosition)
        }
        return problems
    }
}
