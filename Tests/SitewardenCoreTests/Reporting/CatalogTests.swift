import Foundation
import Testing

@testable import SitewardenCore

@Suite("The journal catalog explains every event")
struct CatalogTests {
    /// `# NAME` followed by `-- id` in deploy/sitewarden.catalog, as name → id.
    private func catalogEntries() throws -> [String: String] {
        let text = try String(contentsOfFile: RealTunely.repositoryRoot + "/deploy/sitewarden.catalog", encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var entries = [String: String]()
        for (index, line) in lines.enumerated() where line.hasPrefix("# SITEWARDEN_") && index + 1 < lines.count {
            entries[String(line.dropFirst(2))] =
                lines[index + 1].hasPrefix("-- ") ? String(lines[index + 1].dropFirst(3)) : ""
        }
        return entries
    }

    @Test func everyEventKindHasItsIdInTheCatalogAndNothingElseIsThere() throws {
        let entries = try catalogEntries()

        #expect(Set(entries.keys) == Set(EventKind.allCases.map(\.rawValue)))
        for kind in EventKind.allCases {
            #expect(entries[kind.rawValue] == kind.messageID, "catalog id of \(kind.rawValue)")
        }
    }

    @Test func messageIDsAreDistinct128BitIds() {
        let ids = EventKind.allCases.map(\.messageID)

        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.count == 32 && Hex.decode($0)?.count == 16 })
    }
}
