/// One row of a dist-info RECORD file.
public struct RecordEntry: Sendable, Equatable {
    /// The path as written: relative to site-packages (may climb out with `..`) or absolute.
    public var path: String
    /// The parsed hash column; nil when the column is empty.
    public var hash: RecordHash?
    /// The size column in bytes; nil when empty.
    public var size: Int?
    /// The 1-based line the row starts on, for messages.
    public var line: Int
}

/// Something wrong with one RECORD row. The row is skipped, never guessed at.
public struct RecordProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String

    public var description: String { "line \(line): \(message)" }
}

/// A RECORD file read the way Python's `csv` module reads it (default dialect).
public struct Record: Sendable, Equatable {
    public var entries: [RecordEntry]
    public var problems: [RecordProblem]

    /// Parses RECORD text: `,` separated, `"` quoting with `""` escapes, `\n`, `\r\n` or `\r` line ends,
    /// quoted fields may span lines. Each row must have exactly three fields.
    public init(parsing bytes: [UInt8]) {
        var entries = [RecordEntry]()
        var problems = [RecordProblem]()
        Record.forEachRow(bytes) { row in
            switch row {
            case .success(let entry): entries.append(entry)
            case .failure(let problem): problems.append(problem)
            }
        }
        self.entries = entries
        self.problems = problems
    }

    /// Each row of RECORD text as `init(parsing:)` reads it, in order, without keeping any: for a
    /// large RECORD read once into other structures.
    static func forEachRow(_ bytes: [UInt8], _ body: (Result<RecordEntry, RecordProblem>) -> Void) {
        CSVReader.forEachRow(bytes) { body(entry(from: $0)) }
    }

    private static func entry(from row: CSVReader.Row) -> Result<RecordEntry, RecordProblem> {
        guard row.fields.count == 3 else {
            return .failure(RecordProblem(line: row.line, message: "expected 3 fields, found \(row.fields.count)"))
        }
        let path = row.fields[0]
        guard !path.isEmpty else { return .failure(RecordProblem(line: row.line, message: "empty path")) }
        guard !path.utf8.contains(0) else {
            return .failure(RecordProblem(line: row.line, message: "path contains a NUL byte"))
        }

        var hash: RecordHash?
        if !row.fields[1].isEmpty {
            guard let parsed = RecordHash(field: row.fields[1]) else {
                return .failure(
                    RecordProblem(
                        line: row.line, message: "hash '\(row.fields[1].printable)' is not of the form algorithm=digest"
                    ))
            }
            hash = parsed
        }

        var size: Int?
        if !row.fields[2].isEmpty {
            guard let parsed = Int(row.fields[2]), parsed >= 0 else {
                return .failure(
                    RecordProblem(line: row.line, message: "size '\(row.fields[2].printable)' is not a byte count"))
            }
            size = parsed
        }
        return .success(RecordEntry(path: path, hash: hash, size: size, line: row.line))
    }
}

/// A reader for Python's default csv dialect, just enough for RECORD.
enum CSVReader {
    struct Row {
        var fields: [String]
        var line: Int
    }

    static func rows(_ bytes: [UInt8]) -> [Row] {
        var rows = [Row]()
        forEachRow(bytes) { rows.append($0) }
        return rows
    }

    /// The rows one at a time, none kept.
    static func forEachRow(_ bytes: [UInt8], _ body: (Row) -> Void) {
        var fields = [String]()
        var field = [UInt8]()
        var inQuotes = false
        var quotedFieldClosed = false
        var line = 1
        var rowLine = 1
        var index = 0

        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            quotedFieldClosed = false
        }
        func endRow() {
            endField()
            // Python's csv yields [] for an empty line; RECORD readers skip those.
            if !(fields.count == 1 && fields[0].isEmpty) { body(Row(fields: fields, line: rowLine)) }
            fields.removeAll(keepingCapacity: true)
        }

        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if index < bytes.count && bytes[index] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        inQuotes = false
                        quotedFieldClosed = true
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: ","):
                endField()
            case UInt8(ascii: "\""):
                // A quote opens a quoted field only at its start, as in Python's csv.
                if field.isEmpty && !quotedFieldClosed { inQuotes = true } else { field.append(byte) }
            case UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                if byte == UInt8(ascii: "\r") && index < bytes.count && bytes[index] == UInt8(ascii: "\n") {
                    index += 1
                }
                endRow()
                line += 1
                rowLine = line
            default:
                field.append(byte)
            }
        }
        if !field.isEmpty || !fields.isEmpty || inQuotes || quotedFieldClosed { endRow() }
    }
}
