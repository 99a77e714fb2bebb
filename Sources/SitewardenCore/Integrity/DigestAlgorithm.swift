import CCrypto

/// The RECORD hash algorithms sitewarden verifies: sha256 and the stronger ones wheels may use.
///
/// sha256 is the fast path (`FileHasher.state(of:)` computes it for every file); the others are
/// rare and get a second pass over the file (`FileHasher.digest(of:algorithm:)`).
public enum DigestAlgorithm: String, Sendable, CaseIterable {
    case sha256, sha384, sha512

    /// The digest length in bytes.
    public var length: Int {
        switch self {
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }

    var evp: OpaquePointer {
        switch self {
        case .sha256: EVP_sha256()
        case .sha384: EVP_sha384()
        case .sha512: EVP_sha512()
        }
    }
}

/// Streaming digest of any `DigestAlgorithm` over OpenSSL's EVP interface.
final class EVPHasher {
    private let context: OpaquePointer
    let algorithm: DigestAlgorithm

    init(_ algorithm: DigestAlgorithm) {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new: out of memory") }
        self.context = context
        self.algorithm = algorithm
        guard EVP_DigestInit_ex(context, algorithm.evp, nil) == 1 else {
            fatalError("EVP_DigestInit_ex(\(algorithm)) failed: OpenSSL cannot provide it")
        }
    }

    deinit {
        EVP_MD_CTX_free(context)
    }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        guard EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1 else {
            fatalError("EVP_DigestUpdate failed")
        }
    }

    func finish() -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &output, &length) == 1, Int(length) == algorithm.length else {
            fatalError("EVP_DigestFinal_ex failed")
        }
        return Array(output.prefix(Int(length)))
    }

    /// The digest of `bytes` in one call.
    static func digest(of bytes: some Collection<UInt8>, algorithm: DigestAlgorithm) -> [UInt8] {
        let hasher = EVPHasher(algorithm)
        Array(bytes).withUnsafeBytes { hasher.update($0) }
        return hasher.finish()
    }
}
