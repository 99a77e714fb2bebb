import Testing

@testable import SitewardenCore

private func parse(_ text: String) throws(TOMLParseError) -> TOMLNode {
    try TOMLParser.parse(Array(text.utf8), sourcePath: "test.toml")
}

@Test func treeKeepsKeyAndValuePositions() throws {
    let root = try parse("[daemon]\n  interval = \"30s\"\n")

    let daemon = TOMLEntry(
        key: "daemon",
        keyPosition: TOMLPosition(line: 1, column: 2),
        node: TOMLNode(
            value: .table([
                TOMLEntry(
                    key: "interval",
                    keyPosition: TOMLPosition(line: 2, column: 3),
                    node: TOMLNode(value: .string("30s"), position: TOMLPosition(line: 2, column: 14))
                )
            ]),
            position: TOMLPosition(line: 1, column: 1)
        )
    )
    #expect(root == TOMLNode(value: .table([daemon]), position: TOMLPosition(line: 1, column: 1)))
}

@Test func everyScalarKindIsCopied() throws {
    let text = """
        s = "a\\u0000b"
        i = -9223372036854775808
        f = 6.5e-1
        b = true
        d = 1979-05-27
        t = 07:32:00.25
        l = 1979-05-27T07:32:00
        o = 1979-05-27T07:32:00-07:00
        """

    let root = try parse(text)

    guard case .table(let entries) = root.value else {
        Issue.record("root is not a table")
        return
    }
    let values = Dictionary(uniqueKeysWithValues: entries.map { ($0.key, $0.node.value) })
    let day = TOMLDateTime.Day(year: 1979, month: 5, day: 27)
    #expect(values["s"] == .string("a\u{0}b"))
    #expect(values["i"] == .integer(Int64.min))
    #expect(values["f"] == .float(0.65))
    #expect(values["b"] == .boolean(true))
    #expect(values["d"] == .dateTime(TOMLDateTime(day: day)))
    #expect(
        values["t"] == .dateTime(TOMLDateTime(time: .init(hour: 7, minute: 32, second: 0, nanosecond: 250_000_000))))
    #expect(values["l"]?.kindName == "date-time")
    #expect(
        values["o"]
            == .dateTime(
                TOMLDateTime(day: day, time: .init(hour: 7, minute: 32, second: 0, nanosecond: 0), offsetMinutes: -420)
            )
    )
}

@Test func parseErrorCarriesTomlPlusPlusDescriptionAndPosition() {
    #expect(
        throws: TOMLParseError(
            message: "Error while parsing key-value pair: cannot redefine existing integer 'a'",
            position: TOMLPosition(line: 2, column: 5)
        )
    ) {
        try parse("a = 1\na = 2\n")
    }
}

/// toml++ frees tables recursively: 100,000 dotted parts would overflow the stack, parsed or not.
@Test(arguments: ["", "\n= broken"])
func deeplyDottedKeyIsRefusedBeforeTomlPlusPlusSeesIt(suffix: String) {
    let text = String(repeating: "a.", count: 100_000) + "b = 1" + suffix

    #expect(
        throws: TOMLParseError(
            message: "too many dotted key parts: at most 512 dots may separate keys",
            position: TOMLPosition(line: 1, column: 1026)
        )
    ) {
        try parse(text)
    }
}

@Test func dotsInStringsCommentsAndNumbersAreNotKeyDots() throws {
    let floats = (0..<2000).map { "\($0).5" }.joined(separator: ", ")
    let dots = String(repeating: ".", count: 2000)
    let text = "f = [\(floats)]\ns = \"\(dots)\"\nl = '''\(dots)'''\n# \(dots)\nt = 07:32:00.5\n"

    let root = try parse(text)

    guard case .table(let entries) = root.value else {
        Issue.record("root is not a table")
        return
    }
    #expect(entries.map(\.key).sorted() == ["f", "l", "s", "t"])
}

@Test func valuesNestedDeeperThanTheCopyLimitAreRefused() {
    let text = "a = " + String(repeating: "[", count: 100) + String(repeating: "]", count: 100)

    #expect(
        throws: TOMLParseError(
            message: "values nested deeper than 64 levels",
            position: TOMLPosition(line: 1, column: 68)
        )
    ) {
        try parse(text)
    }
}

@Test func nestingBeyondTomlPlusPlusLimitIsAParseError() {
    let text = "a = " + String(repeating: "[", count: 300) + String(repeating: "]", count: 300)

    let error = #expect(throws: TOMLParseError.self) {
        try parse(text)
    }

    #expect(error?.message.contains("TOML_MAX_NESTED_VALUES") == true)
}

/// toml++ 3.3.0 hands parse_key() a character that cannot start a key after "[" or "[[": the
/// bridge turns its failed check into toml++'s own parse error instead of an abort.
@Test(arguments: [
    ("[\n", "saw '\\n'", 2), ("[[[1]]]", "saw '['", 3), ("[[=", "saw '='", 3), ("a = 1\n[ \t#", "saw '#'", 4),
])
func headerWithoutAKeyIsAParseError(text: String, saw: String, column: Int) {
    let error = #expect(throws: TOMLParseError.self) {
        try parse(text)
    }

    #expect(
        error?.message == "Error while parsing key: expected bare key starting character or string delimiter, \(saw)")
    #expect(error?.position?.column == column)
}

/// toml++ 3.3.0 reaches __builtin_unreachable() when it asks whether such a character is whitespace;
/// the bridge makes it answer "no", so the input gets toml++'s ordinary parse error.
@Test func nonASCIIOutsideStringsAndCommentsIsAnOrdinaryParseError() {
    #expect(
        throws: TOMLParseError(
            message: "Error while parsing key-value pair: expected '=', saw 'ï'",
            position: TOMLPosition(line: 2, column: 5)
        )
    ) {
        try parse("a = \"é\" # é\n  naïve = 1\n")
    }
}

@Test func leadingByteOrderMarkIsAccepted() throws {
    let root = try parse("\u{FEFF}a = 'é'\n")

    #expect(
        root.value
            == .table([
                TOMLEntry(
                    key: "a",
                    keyPosition: TOMLPosition(line: 1, column: 1),
                    node: TOMLNode(value: .string("é"), position: TOMLPosition(line: 1, column: 5))
                )
            ]))
}

/// Each of these breaks an internal check of toml++ 3.3.0; the bridge keeps it from aborting, and the
/// parser's own error stands.
@Test(arguments: [
    ("a = 1979-05-27T:07", "Error while parsing time: expected 2-digit hour, saw ':'", 16),
    ("a = [1,}]", "Error while parsing value: could not determine value type", 8),
])
func valueThatBreaksATomlPlusPlusCheckIsAParseError(text: String, message: String, column: Int) {
    #expect(throws: TOMLParseError(message: message, position: TOMLPosition(line: 1, column: column))) {
        try parse(text)
    }
}
