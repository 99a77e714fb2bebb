import Foundation
import Testing

@testable import SitewardenCore

/// Every bad configuration in Tests/fixtures/bad-configs gives exactly the problems written next
/// to it: one case per file, all of a file's problems at once, each with its line and column.
@Suite("Bad configurations, one per file")
struct BadConfigFixtureTests {
    static let directory = RealTunely.repositoryRoot + "/Tests/fixtures/bad-configs"

    static var cases: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".toml") }.map { String($0.dropLast(".toml".count)) }.sorted()
    }

    @Test func thereAreCasesToCheck() {
        #expect(Self.cases.count >= 20)
    }

    @Test(arguments: cases)
    func givesTheExpectedProblems(name: String) throws {
        let path = Self.directory + "/" + name + ".toml"
        let expected = try String(contentsOfFile: Self.directory + "/" + name + ".expected", encoding: .utf8)
            .split(separator: "\n").map(String.init)

        var problems: [String] = []
        do {
            _ = try ConfigLoader.load(path: path, checkFilesystem: name.hasPrefix("fs-"))
        } catch {
            problems = error.problems.map { $0.description.replacingOccurrences(of: Self.directory + "/", with: "") }
        }

        #expect(!expected.isEmpty)
        #expect(problems == expected)
    }
}
