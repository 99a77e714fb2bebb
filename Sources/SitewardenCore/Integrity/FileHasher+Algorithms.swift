import Glibc

extension FileHasher {
    /// The `algorithm` digest and size of the regular file at `path`, opened without following
    /// symlinks. The second pass for the rare RECORD rows that are not sha256; every file's
    /// sha256 comes from `state(of:)`.
    static func digest(of path: String, algorithm: DigestAlgorithm) throws(SystemError) -> (digest: [UInt8], size: Int)
    {
        let file = try FileDescriptor.openRegularFile(path)
        let hasher = EVPHasher(algorithm)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var size = 0
        while true {
            let count = try file.read(into: &buffer)
            if count == 0 { return (hasher.finish(), size) }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            size += count
        }
    }
}
