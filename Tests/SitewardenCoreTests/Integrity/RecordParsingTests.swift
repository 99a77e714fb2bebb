import Testing

@testable import SitewardenCore

@Suite("RECORD parsing follows Python's csv dialect")
struct RecordParsingTests {
    private func parse(_ text: String) -> Record {
        Record(parsing: Array(text.utf8))
    }

    @Test func readsThreeFieldRowsWithOptionalHashAndSize() {
        let record = parse(
            "tunely/__init__.py,sha256=zJA_B61fSPyakwZCSZMozqE91oiwWs3ziVxiQhKEp88,1273\ntunely-0.2.3.dist-info/RECORD,,\n"
        )

        #expect(record.problems.isEmpty)
        #expect(record.entries.count == 2)
        #expect(record.entries[0].path == "tunely/__init__.py")
        #expect(record.entries[0].size == 1273)
        #expect(record.entries[0].hash?.algorithm == "sha256")
        #expect(record.entries[1].hash == nil)
        #expect(record.entries[1].size == nil)
        #expect(record.entries[1].line == 2)
    }

    @Test func unquotesQuotedFieldsWithCommasAndDoubledQuotes() {
        let record = parse("\"pkg/a,b.py\",,1\n\"pkg/say \"\"hi\"\".py\",,2\n")

        #expect(record.entries.map(\.path) == ["pkg/a,b.py", "pkg/say \"hi\".py"])
    }

    @Test func acceptsCRLFAndBareCRLineEndsAndSkipsBlankLines() {
        let record = parse("a.py,,1\r\n\r\nb.py,,2\rc.py,,3")

        #expect(record.entries.map(\.path) == ["a.py", "b.py", "c.py"])
        #expect(record.problems.isEmpty)
    }

    @Test func quotedFieldMaySpanLinesAndLineNumbersFollow() {
        let record = parse("\"odd\nname.py\",,1\nnext.py,,2\n")

        #expect(record.entries.map(\.path) == ["odd\nname.py", "next.py"])
        #expect(record.entries[1].line == 3)
    }

    @Test func reportsRowsWithTheWrongShapeByLineAndKeepsTheRest() {
        let record = parse(
            "good.py,,1\nonly-two,fields\nbad.py,sha256=x,notanumber\nfour,,,1\n,,\nhash.py,nodigest,3\n")

        #expect(record.entries.map(\.path) == ["good.py"])
        #expect(record.problems.map(\.line) == [2, 3, 4, 5, 6])
        #expect(record.problems[0].message == "expected 3 fields, found 2")
        #expect(record.problems[1].message == "size 'notanumber' is not a byte count")
        #expect(record.problems[3].message == "empty path")
    }

    /// Python's csv skips an empty line but reads `""` as a row of one empty field; such a row is
    /// RECORD damage to report, not a blank line to pass over.
    @Test func aLineOfTwoQuotesIsARowNotABlankLine() {
        let record = parse("\"\"\ntunely/__init__.py,,\n")
        #expect(record.problems == [RecordProblem(line: 1, message: "expected 3 fields, found 1")])
        #expect(record.entries.map(\.path) == ["tunely/__init__.py"])
    }

    @Test func emptyRecordHasNoEntriesAndNoProblems() {
        let record = parse("")

        #expect(record.entries.isEmpty)
        #expect(record.problems.isEmpty)
    }

    @Test func parsesTheRealTunelyRecord() throws {
        let venv = try RealTunely.installedVenv()
        let bytes = try readWholeFile(venv + "/" + RealTunely.sitePackagesSuffix + "/tunely-0.2.3.dist-info/RECORD")

        let record = Record(parsing: bytes)

        #expect(record.problems.isEmpty)
        #expect(record.entries.count == 18)
        let server = try #require(record.entries.first { $0.path == "tunely/server.py" })
        #expect(server.hash?.digest?.count == 32)
        #expect(record.entries.contains { $0.path == "../../../bin/tunely" })
    }
}
