import Foundation
import Testing

@testable import SitewardenCore

/// RECORD is read piece by piece (64 KiB at a time) so a large one is never held whole. Whatever
/// the cut, the rows must be those of reading it whole, and those Python's csv module reads.
@Suite("RECORD read piece by piece")
struct RecordStreamingTests {
    /// Inputs built from the bytes that steer the dialect: quotes, separators, every line end.
    private static func trickyInputs(count: Int) -> [[UInt8]] {
        let pieces = ["a", "bc", ",", "\"", "\"\"", "\r", "\n", "\r\n", "sha256=x", " ", "é"]
        var generator = SplitMix64(state: 20_261_204)
        return (0..<count).map { _ in
            let length = Int.random(in: 0...24, using: &generator)
            return Array((0..<length).map { _ in pieces.randomElement(using: &generator)! }.joined().utf8)
        }
    }

    private static func rows(_ bytes: [UInt8], cutAt cuts: [Int]) -> [[String]] {
        var rows = [[String]]()
        var stream = CSVReader.Stream()
        var start = 0
        bytes.withUnsafeBufferPointer { buffer in
            for cut in cuts + [bytes.count] {
                stream.feed(UnsafeBufferPointer(rebasing: buffer[start..<cut])) { rows.append($0.fields) }
                start = cut
            }
        }
        stream.finish { rows.append($0.fields) }
        return rows
    }

    @Test func everyCutGivesTheRowsOfTheWholeInput() {
        for input in Self.trickyInputs(count: 400) {
            let whole = CSVReader.rows(input).map(\.fields)
            for cut in 0...input.count {
                #expect(Self.rows(input, cutAt: [cut]) == whole, "input \(Array(input)) cut at \(cut)")
            }
            // And cut into single bytes, where every look-ahead of the old reader crossed a cut.
            #expect(Self.rows(input, cutAt: Array(0...input.count).dropLast().map { $0 }) == whole)
        }
    }

    @Test func lineNumbersDoNotDependOnTheCuts() {
        let input = Array("a,\"multi\nline\",1\r\nb,,\r\rc,sha256=x,3\n".utf8)
        var lines = [Int]()
        var stream = CSVReader.Stream()
        input.withUnsafeBufferPointer { buffer in
            for index in buffer.indices {
                stream.feed(UnsafeBufferPointer(rebasing: buffer[index...index])) { lines.append($0.line) }
            }
        }
        stream.finish { lines.append($0.line) }
        #expect(lines == CSVReader.rows(input).map(\.line))
        #expect(lines == [1, 3, 5])
    }

    /// The same inputs through Python's own csv module (the reader pip and installer use).
    @Test func rowsAreThoseOfPythonsCSVModule() throws {
        let inputs = Self.trickyInputs(count: 400)
        let scratch = try Scratch()
        let file = scratch.path + "/inputs.json"
        try JSONEncoder().encode(inputs.map { String(decoding: $0, as: UTF8.self) }).write(
            to: URL(fileURLWithPath: file))
        let script = """
            import csv, io, json, sys
            out = []
            for text in json.load(open(sys.argv[1])):
                try:
                    out.append([row for row in csv.reader(io.StringIO(text, newline="")) if row])
                except csv.Error:
                    out.append(None)
            print(json.dumps(out))
            """
        let result = try Shell.run(["python3", "-c", script, file])
        try #require(result.status == 0, "python3: \(result.errorOutput)")
        let python = try JSONDecoder().decode([[[String]]?].self, from: Data(result.output.utf8))
        var compared = 0
        for (input, expected) in zip(inputs, python) {
            guard let expected else { continue }
            compared += 1
            let ours = Self.rows(input, cutAt: [input.count / 2])
            #expect(ours == expected, "input \(String(decoding: input, as: UTF8.self).debugDescription)")
        }
        #expect(compared > 300)
    }

    @Test func aRecordFileIsReadInPiecesToTheSameEntries() throws {
        let scratch = try Scratch()
        var text = ""
        for number in 0..<5000 {
            text += "pkg/module_\(number).py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,\(number)\r\n"
        }
        text += "\"quoted, with comma.py\",,\n"
        let path = scratch.path + "/RECORD"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try #require(text.utf8.count > 3 * 65536)

        var entries = [RecordEntry]()
        var problems = [RecordProblem]()
        try Record.forEachRow(ofFile: path) { row in
            switch row {
            case .success(let entry): entries.append(entry)
            case .failure(let problem): problems.append(problem)
            }
        }
        let whole = Record(parsing: Array(text.utf8))
        #expect(entries == whole.entries)
        #expect(problems == whole.problems)
        #expect(entries.count == 5001)
        #expect(entries.last?.path == "quoted, with comma.py")
    }
}
