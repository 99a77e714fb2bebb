import Testing

@testable import SitewardenCore

@Test(arguments: [
    ("500ms", Duration.milliseconds(500)), ("30s", .seconds(30)), ("5m", .seconds(300)), ("1h", .seconds(3600)),
    ("007s", .seconds(7)),
])
func durationWithAUnitIsParsed(text: String, expected: Duration) throws {
    #expect(try ConfigDuration.parse(text) == expected)
}

@Test(arguments: ["", "30", "s", "ms", "1.5s", "30 s", " 30s", "30sec", "+5s", "5S", "٣s", "1h30m", "--5s"])
func durationWithoutAWholeNumberAndAUnitIsMalformed(text: String) {
    #expect(throws: ConfigDuration.Failure.malformed(text)) {
        try ConfigDuration.parse(text)
    }
}

@Test(arguments: ["0s", "0ms", "-5s", "-0h"])
func zeroOrNegativeDurationIsNotPositive(text: String) {
    #expect(throws: ConfigDuration.Failure.notPositive("'\(text)'")) {
        try ConfigDuration.parse(text)
    }
}

@Test(arguments: ["99999999999999999999s", "9223372036854775807h", "9223372036854775807s"])
func durationBeyondSixtyFourBitsOfMillisecondsIsTooLarge(text: String) {
    #expect(throws: ConfigDuration.Failure.tooLarge("'\(text)'")) {
        try ConfigDuration.parse(text)
    }
}

@Test func integerDurationIsANumberOfSeconds() throws {
    #expect(try ConfigDuration.seconds(90) == .seconds(90))
    #expect(throws: ConfigDuration.Failure.notPositive("0")) {
        try ConfigDuration.seconds(0)
    }
}

@Test(arguments: ["577h", "34561m", "2073601s", "100000000h"])
func durationOverTwentyFourDaysIsTooLarge(text: String) {
    #expect(throws: ConfigDuration.Failure.tooLarge("'\(text)'")) {
        try ConfigDuration.parse(text)
    }
    #expect("\(ConfigDuration.Failure.tooLarge("'\(text)'"))" == "duration '\(text)' is too large (at most 24 days)")
}

@Test func twentyFourDaysIsTheLongestDuration() throws {
    #expect(try ConfigDuration.parse("576h") == .seconds(24 * 24 * 3600))
    #expect(try ConfigDuration.seconds(24 * 24 * 3600) == .seconds(2_073_600))
    #expect(throws: ConfigDuration.Failure.tooLarge("2073601")) {
        try ConfigDuration.seconds(2_073_601)
    }
}
