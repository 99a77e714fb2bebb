import Glibc

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

    /// `forEachRow(_:_:)` of the RECORD file at `path`, read piece by piece.
    static func forEachRow(
        ofFile path: String, _ body: (Result<RecordEntry, RecordProblem>) -> Void
    ) throws(SystemError) {
        try CSVReader.forEachRow(ofFile: path, limit: recordSizeLimit) { body(entry(from: $0)) }
    }

    /// At least as many as the rows of the RECORD file at `path` (its line ends, plus one), and
    /// about as many bytes as their paths take (each line up to its first comma), read ahead so
    /// that a large RECORD's rows and paths can be stored without growing their storage; zeros
    /// when it cannot be read.
    static func rowAndPathBound(ofFile path: String) -> (rows: Int, pathBytes: Int) {
        guard let file = try? FileDescriptor.openRegularFile(path) else { return (0, 0) }
        var chunk = [UInt8](repeating: 0, count: 65536)
        var newlines = 0
        var returns = 0
        var pathBytes = 0
        var inPath = true
        while let count = try? file.read(into: &chunk), count > 0 {
            for byte in chunk[..<count] {
                switch byte {
                case UInt8(ascii: "\n"):
                    newlines += 1
                    inPath = true
                case UInt8(ascii: "\r"):
                    returns += 1
                    inPath = true
                case UInt8(ascii: ","): inPath = false
                default: if inPath { pathBytes += 1 }
                }
            }
        }
        return (max(newlines, returns) + 1, pathBytes)
    }

    /// Far beyond any real RECORD (tunely's is 1.6 KB, ansible's 2 MB).
    static let recordSizeLimit = 64 << 20

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
        var stream = Stream()
        bytes.withUnsafeBufferPointer { stream.feed($0, body) }
        stream.finish(body)
    }

    /// The rows of a file read 64 KiB at a time: a large RECORD (ansible's is 2 MB) is never held
    /// whole. Throws what reading throws; the rows before the failure have been handed over.
    static func forEachRow(ofFile path: String, limit: Int, _ body: (Row) -> Void) throws(SystemError) {
        let file = try FileDescriptor.openRegularFile(path)
        var stream = Stream()
        var chunk = [UInt8](repeating: 0, count: 65536)
        var total = 0
        while true {
            let count = try file.read(into: &chunk)
            if count == 0 { break }
            total += count
            guard total <= limit else {
                throw SystemError("read", path, code: EFBIG, reason: "larger than \(limit) bytes")
            }
            chunk.withUnsafeBufferPointer { stream.feed(UnsafeBufferPointer(rebasing: $0[..<count]), body) }
        }
        stream.finish(body)
    }

    /// The reader's state between two pieces of input: a field, a quote or a line end may be cut
    /// anywhere, so nothing looks ahead; what the next byte decides waits for it.
    struct Stream {
        private var fields = [String]()
        private var field = [UInt8]()
        private var inQuotes = false
        /// A `"` inside a quoted field: the next byte says whether it was `""` or the closing quote.
        private var quoteInQuotes = false
        private var quotedFieldClosed = false
        /// A `\r` ended a row: a `\n` right after it belongs to the same line end.
        private var afterCarriageReturn = false
        private var line = 1
        private var rowLine = 1

        mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Row) -> Void) {
            for byte in bytes {
                if afterCarriageReturn {
                    afterCarriageReturn = false
                    if byte == UInt8(ascii: "\n") { continue }
                }
                if quoteInQuotes {
                    quoteInQuotes = false
                    if byte == UInt8(ascii: "\"") {
                        field.append(byte)
                        continue
                    }
                    inQuotes = false
                    quotedFieldClosed = true
                    // The byte after a closing quote is read as any unquoted byte, below.
                } else if inQuotes {
                    if byte == UInt8(ascii: "\"") {
                        quoteInQuotes = true
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
                    afterCarriageReturn = byte == UInt8(ascii: "\r")
                    endRow(body)
                    line += 1
                    rowLine = line
                default:
                    field.append(byte)
                }
            }
        }

        /// Ends the input: a last row without a line end is a row.
        mutating func finish(_ body: (Row) -> Void) {
            if quoteInQuotes {
                quoteInQuotes = false
                inQuotes = false
                quotedFieldClosed = true
            }
            if !field.isEmpty || !fields.isEmpty || inQuotes || quotedFieldClosed { endRow(body) }
        }

        private mutating func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            quotedFieldClosed = false
        }

        private mutating func endRow(_ body: (Row) -> Void) {
            let quoted = quotedFieldClosed || inQuotes
            endField()
            // Python's csv yields [] for an empty line, which RECORD readers skip; a line holding
            // only `""` is a row of one empty field.
            if !(fields.count == 1 && fields[0].isEmpty && !quoted) { body(Row(fields: fields, line: rowLine)) }
            fields.removeAll(keepingCapacity: true)
        }
    }
}
