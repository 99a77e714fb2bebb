import Testing

@testable import SitewardenCore

@Test func versionIsSemantic() {
    #expect(sitewardenVersion.split(separator: ".").count == 3)
}
