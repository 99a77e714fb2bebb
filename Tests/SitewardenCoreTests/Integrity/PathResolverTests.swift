import Foundation
import Testing

@testable import SitewardenCore

@Suite("Resolving many paths of one tree, and normalizing them, as cheaply as possible")
struct PathResolverTests {
    @Test func resolverAgreesWithRealpathOnSymlinksMissingPathsAndFilesUsedAsDirectories() throws {
        let scratch = try Scratch()
        let root = try Paths.realPath(scratch.path)
        try FileManager.default.createDirectory(atPath: root + "/venv/lib/pkg", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/outside", withIntermediateDirectories: true)
        try Files.create(root + "/venv/lib/pkg/mod.py", [], mode: 0o644)
        try Files.create(root + "/outside/evil.py", [], mode: 0o644)
        try FileManager.default.createSymbolicLink(atPath: root + "/venv/lib64", withDestinationPath: "lib")
        try FileManager.default.createSymbolicLink(atPath: root + "/venv/lib/out", withDestinationPath: "../../outside")
        try FileManager.default.createSymbolicLink(
            atPath: root + "/venv/lib/pkg/link.py", withDestinationPath: "mod.py")
        try FileManager.default.createSymbolicLink(
            atPath: root + "/venv/lib/pkg/escape.py", withDestinationPath: root + "/outside/evil.py")
        try FileManager.default.createSymbolicLink(
            atPath: root + "/venv/lib/pkg/dangling.py", withDestinationPath: "nope")
        let paths = [
            "/", root, root + "/venv/lib/pkg/mod.py", root + "/venv/lib64/pkg/mod.py", root + "/venv/lib/out/evil.py",
            root + "/venv/lib/out/missing/deeper.py", root + "/venv/lib/pkg/link.py", root + "/venv/lib/pkg/escape.py",
            root + "/venv/lib/pkg/dangling.py", root + "/venv/lib/pkg/mod.py/below", root + "/venv/missing/a/b.py",
            root + "/venv/lib64/out/evil.py",
        ]
        let resolver = PathResolver()

        let resolved = paths.map { resolver.resolveExistingPrefix($0) }

        #expect(resolved == paths.map { Paths.resolveExistingPrefix($0) })
        #expect(!resolver.resolvesInside(root + "/venv/lib64/out/evil.py", venvRoot: root + "/venv"))
        #expect(resolver.resolvesInside(root + "/venv/lib64/pkg/link.py", venvRoot: root + "/venv"))
    }

    @Test(arguments: [
        ("/a/b/c.py", "/a/b/c.py"), ("/", "/"), ("/a//b", "/a/b"), ("/a/./b", "/a/b"), ("/a/b/../c", "/a/c"),
        ("/a/b/", "/a/b"), ("/a/.", "/a"), ("/a/..", "/"), ("/../a", "/a"), ("/a/.../b", "/a/.../b"),
        ("/a/.b/c.", "/a/.b/c."), ("/a/..b", "/a/..b"), ("a/b", "/a/b"), ("//", "/"),
    ])
    func normalizeCollapsesOnlyWhatNeedsCollapsing(path: String, normal: String) {
        #expect(Paths.normalize(path) == normal)
    }

    /// By bytes: a combining mark after a `/` makes it part of a larger Character, not less of a separator.
    @Test(arguments: [
        ("/a/b/c.py", "/a/b", "c.py"), ("/c.py", "/", "c.py"), ("c.py", ".", "c.py"),
        ("/a/\u{301}b.py", "/a", "\u{301}b.py"), ("/\u{E9}t\u{E9}/x", "/\u{E9}t\u{E9}", "x"),
    ])
    func directoryAndLastComponentSplitAtTheLastSlashByte(path: String, directory: String, last: String) {
        #expect(Paths.directory(of: path) == directory)
        #expect(Paths.lastComponent(of: path) == last)
    }

    @Test(arguments: [
        ("/venv", "/venv", true), ("/venv/lib/x.py", "/venv", true), ("/venv2/x.py", "/venv", false),
        ("/ven", "/venv", false), ("/etc/passwd", "/", true), ("/venv/", "/venv", true), ("venv/x", "/venv", false),
    ])
    func insideMeansTheRootOrBelowItAtAComponentBoundary(path: String, root: String, inside: Bool) {
        #expect(Paths.isInside(path, root: root) == inside)
    }

    @Test func relativePathsAndKeysGoByBytes() {
        let composed = "caf\u{E9}.py"
        let decomposed = "cafe\u{301}.py"

        #expect(Paths.relative("/venv/\u{301}x", to: "/venv") == "\u{301}x")
        #expect(Paths.relative("/venv", to: "/venv") == "." && Paths.relative("/etc/x", to: "/") == "etc/x")
        #expect(composed == decomposed, "Swift's String equality, which keys must not use")
        let keys = [composed, decomposed].map { Expectations.Key(inside: true, path: $0) }
        #expect(keys[0] != keys[1])
        #expect(Set(keys).count == 2)
    }
}
