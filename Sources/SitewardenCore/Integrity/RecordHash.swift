/// The hash column of a RECORD row: `algorithm=digest`.
///
/// Wheels write the digest as urlsafe base64 without padding; other tools have been seen writing
/// it padded, with the standard alphabet, or as hex. All of these decode to the same bytes,
/// and bytes are what get compared.
public struct RecordHash: Sendable, Equatable {
    /// The form wheels write (`sha256=` and 43 urlsafe base64 symbols) is kept as its digest alone,
    /// and its text rebuilt when asked for: a large distribution has tens of thousands of rows.
    private enum Storage: Sendable, Equatable {
        case canonicalSHA256(SHA256Digest)
        case written(algorithm: String, digest: [UInt8]?, encoded: String)
    }
    private var storage: Storage

    /// The algorithm name as written, lowercased (`sha256`, `sha384`, …).
    public var algorithm: String {
        switch storage {
        case .canonicalSHA256: "sha256"
        case .written(let algorithm, _, _): algorithm
        }
    }

    /// The decoded digest, or nil when the text decodes to nothing of the algorithm's length.
    public var digest: [UInt8]? {
        switch storage {
        case .canonicalSHA256(let digest): digest.bytes
        case .written(_, let digest, _): digest
        }
    }

    /// The text after `=`, kept for messages.
    public var encoded: String {
        switch storage {
        case .canonicalSHA256(let digest): Base64.encodeURLSafeUnpadded(digest.bytes)
        case .written(_, _, let encoded): encoded
        }
    }

    /// True for the form wheels write, which `init(sha256:)` makes again from the digest alone.
    var isCanonicalSHA256: Bool {
        if case .canonicalSHA256 = storage { return true }
        return false
    }

    /// The SHA-256 digest, when this is a sha256 hash that decodes.
    public var sha256: SHA256Digest? {
        switch storage {
        case .canonicalSHA256(let digest): digest
        case .written(let algorithm, let digest, _): algorithm == "sha256" ? digest.flatMap(SHA256Digest.init) : nil
        }
    }

    /// Parses `algorithm=digest`; nil when there is no `=` or no algorithm.
    public init?(field: String) {
        if let digest = Base64.canonicalSHA256(field) {
            storage = .canonicalSHA256(digest)
            return
        }
        guard let separator = field.firstIndex(of: "=") else { return nil }
        let algorithm = field[..<separator].lowercased()
        guard !algorithm.isEmpty else { return nil }
        let encoded = String(field[field.index(after: separator)...])
        storage = .written(
            algorithm: algorithm,
            digest: RecordHash.decode(encoded, expectedLength: RecordHash.digestLength(of: algorithm)),
            encoded: encoded)
    }

    public init(sha256 digest: SHA256Digest) {
        storage = .canonicalSHA256(digest)
    }

    public static func == (lhs: RecordHash, rhs: RecordHash) -> Bool {
        lhs.algorithm == rhs.algorithm && lhs.digest == rhs.digest && lhs.encoded == rhs.encoded
    }

    /// What verifying a file against this hash can mean.
    public enum Check: Sendable, Equatable {
        /// A digest sitewarden computes and compares byte for byte.
        case verifiable(DigestAlgorithm, [UInt8])
        /// md5, sha1, sha224: weaker than sha256, not permitted in wheels; never trusted.
        case notPermitted
        /// An algorithm sitewarden does not know (`sha=…`, `blake2b=…`).
        case unknownAlgorithm
        /// A known algorithm whose digest does not decode to the algorithm's length.
        case undecodable
    }

    /// How this row's hash can be used to judge a file.
    public var check: Check {
        if ["md5", "sha1", "sha224"].contains(algorithm) { return .notPermitted }
        guard let known = DigestAlgorithm(rawValue: algorithm) else { return .unknownAlgorithm }
        guard let digest, digest.count == known.length else { return .undecodable }
        return .verifiable(known, digest)
    }

    /// Why a file cannot be verified against this hash, or nil when it can.
    public var unverifiableReason: String? {
        switch check {
        case .verifiable: nil
        case .notPermitted: "\(algorithm) is not permitted in wheels (sha256 or stronger is required)"
        case .unknownAlgorithm: "hash algorithm '\(algorithm.printable)' is unknown"
        case .undecodable: "\(algorithm) digest '\(encoded.printable)' does not decode"
        }
    }

    /// How RECORD spells a SHA-256 digest: `sha256=` + urlsafe base64 without padding.
    public var recordField: String { "\(algorithm)=\(encoded)" }

    static func digestLength(of algorithm: String) -> Int? {
        switch algorithm {
        case "sha256": 32
        case "sha384": 48
        case "sha512": 64
        case "sha224": 28
        case "sha1": 20
        case "md5": 16
        default: nil
        }
    }

    private static func decode(_ text: String, expectedLength: Int?) -> [UInt8]? {
        guard let expectedLength else { return nil }
        if text.utf8.count == expectedLength * 2, let bytes = Hex.decode(text) {
            return bytes
        }
        guard let bytes = Base64.decode(text), bytes.count == expectedLength else { return nil }
        return bytes
    }
}

/// Base64 in both alphabets, padding optional.
enum Base64 {
    private static let urlSafe = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encodeURLSafeUnpadded(_ bytes: [UInt8]) -> String {
        var output = [UInt8]()
        output.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value = UInt32(0)
            for (offset, byte) in chunk.enumerated() { value |= UInt32(byte) << (16 - 8 * offset) }
            for position in 0...chunk.count {
                output.append(urlSafe[Int((value >> (18 - 6 * position)) & 0x3f)])
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The digest of `sha256=` followed by exactly the 43 urlsafe symbols `encodeURLSafeUnpadded`
    /// writes for it; nil for any other text (which the general parser then reads).
    static func canonicalSHA256(_ field: String) -> SHA256Digest? {
        var field = field
        return field.withUTF8 { text -> SHA256Digest? in
            guard text.count == 50, text.starts(with: "sha256=".utf8) else { return nil }
            var words = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            let complete = withUnsafeMutableBytes(of: &words) { out -> Bool in
                var accumulator = UInt32(0)
                var bits = 0
                var written = 0
                for symbol in text[7...] {
                    guard symbol != UInt8(ascii: "+"), symbol != UInt8(ascii: "/"), let value = value(of: symbol)
                    else { return false }
                    accumulator = accumulator << 6 | UInt32(value)
                    bits += 6
                    if bits >= 8 {
                        bits -= 8
                        out[written] = UInt8(truncatingIfNeeded: accumulator >> UInt32(bits))
                        written += 1
                    }
                }
                // 43 symbols carry 258 bits: the last two must be zero for the text to be canonical.
                return written == 32 && accumulator & 0b11 == 0
            }
            return complete ? withUnsafeBytes(of: words) { SHA256Digest(bytes: $0) } : nil
        }
    }

    /// Decodes either alphabet (`-_` or `+/`), with or without `=` padding; nil on any other byte.
    static func decode(_ text: String) -> [UInt8]? {
        var symbols = Array(text.utf8)
        while symbols.last == UInt8(ascii: "=") { symbols.removeLast() }
        guard symbols.count % 4 != 1 else { return nil }
        var output = [UInt8]()
        output.reserveCapacity(symbols.count * 3 / 4)
        var accumulator = UInt32(0)
        var bits = 0
        for symbol in symbols {
            guard let value = value(of: symbol) else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        return output
    }

    private static func value(of symbol: UInt8) -> UInt8? {
        switch symbol {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): symbol - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): symbol - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): symbol - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"), UInt8(ascii: "+"): 62
        case UInt8(ascii: "_"), UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
