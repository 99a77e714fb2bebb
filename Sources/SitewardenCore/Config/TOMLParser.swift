import CTOMLBridge

/// Parses TOML with toml++ (through CTOMLBridge) and copies the tree into `TOMLNode` values.
///
/// The only code that touches the bridge: everything else reads the Swift tree.
enum TOMLParser {
    /// Deeper values are refused: the copy recurses, and no config needs more than a few levels.
    static let maxDepth = 64

    /// Parses UTF-8 `bytes`; `sourcePath` names the source in toml++'s records.
    static func parse(_ bytes: [UInt8], sourcePath: String) throws(TOMLParseError) -> TOMLNode {
        let parsed = bytes.withUnsafeBytes { buffer in
            sw_toml_parse(buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count, sourcePath)
        }
        guard let document = parsed else {
            throw TOMLParseError(message: "out of memory while parsing", position: nil)
        }
        defer { sw_toml_document_free(document) }

        var errorPosition = sw_toml_position()
        if let message = sw_toml_document_error(document, &errorPosition) {
            throw TOMLParseError(message: String(cString: message), position: position(errorPosition))
        }
        return try node(sw_toml_document_root(document), depth: 0)
    }

    private static func node(_ node: OpaquePointer?, depth: Int) throws(TOMLParseError) -> TOMLNode {
        let position = position(sw_toml_node_position(node))
        guard depth < maxDepth else {
            throw TOMLParseError(message: "values nested deeper than \(maxDepth) levels", position: position)
        }
        return TOMLNode(value: try value(node, depth: depth), position: position)
    }

    private static func value(_ node: OpaquePointer?, depth: Int) throws(TOMLParseError) -> TOMLValue {
        switch sw_toml_node_type(node) {
        case SW_TOML_TABLE: return .table(try entries(node, depth: depth))
        case SW_TOML_ARRAY: return .array(try elements(node, depth: depth))
        case SW_TOML_STRING: return .string(string(node))
        case SW_TOML_INTEGER: return .integer(integer(node))
        case SW_TOML_FLOAT: return .float(float(node))
        case SW_TOML_BOOLEAN: return .boolean(boolean(node))
        case SW_TOML_DATE, SW_TOML_TIME, SW_TOML_DATE_TIME: return .dateTime(dateTime(node))
        default: preconditionFailure("CTOMLBridge returned a node of unknown type")
        }
    }

    private static func entries(_ table: OpaquePointer?, depth: Int) throws(TOMLParseError) -> [TOMLEntry] {
        var raw = [sw_toml_entry](repeating: sw_toml_entry(), count: sw_toml_node_count(table))
        let count = raw.withUnsafeMutableBufferPointer { sw_toml_table_entries(table, $0.baseAddress, $0.count) }

        var entries: [TOMLEntry] = []
        for entry in raw.prefix(count) {
            let key = text(entry.key, length: entry.key_length)
            let value = try node(entry.value, depth: depth + 1)
            entries.append(TOMLEntry(key: key, keyPosition: position(entry.key_position), node: value))
        }
        return entries
    }

    private static func elements(_ array: OpaquePointer?, depth: Int) throws(TOMLParseError) -> [TOMLNode] {
        var elements: [TOMLNode] = []
        for index in 0..<sw_toml_node_count(array) {
            elements.append(try node(sw_toml_array_element(array, index), depth: depth + 1))
        }
        return elements
    }

    private static func string(_ node: OpaquePointer?) -> String {
        var bytes: UnsafePointer<CChar>?
        var length = 0
        _ = sw_toml_string(node, &bytes, &length)
        return text(bytes, length: length)
    }

    private static func integer(_ node: OpaquePointer?) -> Int64 {
        var value: Int64 = 0
        _ = sw_toml_integer(node, &value)
        return value
    }

    private static func float(_ node: OpaquePointer?) -> Double {
        var value = 0.0
        _ = sw_toml_float(node, &value)
        return value
    }

    private static func boolean(_ node: OpaquePointer?) -> Bool {
        var value = false
        _ = sw_toml_boolean(node, &value)
        return value
    }

    private static func dateTime(_ node: OpaquePointer?) -> TOMLDateTime {
        var raw = sw_toml_date_time()
        _ = sw_toml_date_time_value(node, &raw)

        var value = TOMLDateTime()
        if raw.has_date {
            value.day = .init(year: Int(raw.year), month: Int(raw.month), day: Int(raw.day))
        }
        if raw.has_time {
            value.time = .init(
                hour: Int(raw.hour),
                minute: Int(raw.minute),
                second: Int(raw.second),
                nanosecond: Int(raw.nanosecond)
            )
        }
        if raw.has_offset {
            value.offsetMinutes = Int(raw.offset_minutes)
        }
        return value
    }

    /// Copies bytes borrowed from the document, which toml++ has already checked are UTF-8.
    private static func text(_ bytes: UnsafePointer<CChar>?, length: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(start: bytes, count: bytes == nil ? 0 : length), as: UTF8.self)
    }

    /// toml++ records 0 for a line or column it does not know.
    private static func position(_ raw: sw_toml_position) -> TOMLPosition? {
        guard raw.line > 0, raw.column > 0 else {
            return nil
        }
        return TOMLPosition(line: Int(raw.line), column: Int(raw.column))
    }
}
