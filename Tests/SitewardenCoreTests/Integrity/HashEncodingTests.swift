import Foundation
import Testing

@testable import SitewardenCore

@Suite("SHA-256 and RECORD's hash encoding")
struct HashEncodingTests {
    // SHA-256 of the empty string, in each spelling seen in RECORD files.
    static let emptyHex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let emptyCanonical = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"

    @Test func opensslDigestsMatchPublishedVectors() {
        #expect(SHA256Hasher.digest(of: [UInt8]()).hex == Self.emptyHex)
        #expect(
            SHA256Hasher.digest(of: Array("abc".utf8)).hex
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(
            SHA256Hasher.digest(of: million).hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func encodesDigestAsRecordDoes() throws {
        let digest = try #require(SHA256Digest(hex: Self.emptyHex))

        #expect(RecordHash(sha256: digest).recordField == "sha256=" + Self.emptyCanonical)
    }

    @Test(arguments: [
        "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU",
        "sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=",
        "sha256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
        "SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ])
    func decodesEverySpellingToTheSameBytes(field: String) throws {
        let hash = try #require(RecordHash(field: field))

        #expect(hash.algorithm == "sha256")
        #expect(hash.digest.map(Hex.encode) == Self.emptyHex)
    }

    @Test func digestOfTheWrongLengthOrUnknownAlgorithmDecodesToNothing() {
        #expect(RecordHash(field: "sha256=47DEQpj8")?.digest == nil)
        #expect(RecordHash(field: "sha=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")?.digest == nil)
        #expect(RecordHash(field: "sha256=!!!")?.digest == nil)
        #expect(RecordHash(field: "nodigest") == nil)
    }

    @Test func hashesFilesByStreamingAndReportsSizeAndMode() throws {
        let scratch = try Scratch()
        let path = scratch.path + "/data"
        let bytes = (0..<700_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Files.create(path, bytes, mode: 0o640)

        guard case .present(let facts) = FileHasher().state(of: path) else {
            Issue.record("expected a present file")
            return
        }

        #expect(facts.sha256.hex == (try Files.sha256(path)))
        #expect(facts.size == 700_000)
        #expect(facts.mode == 0o640)
    }

    @Test func symlinkInPlaceOfAFileIsNotFollowed() throws {
        let scratch = try Scratch()
        symlink("/etc/passwd", scratch.path + "/link")

        #expect(FileHasher().state(of: scratch.path + "/link") == .notRegularFile)
        #expect(FileHasher().state(of: scratch.path + "/absent") == .missing)
    }
}
