/// Little-endian integers and length-prefixed strings appended to a byte buffer: the encoding of
/// sitewarden's own binary state files (the scan cache, the verification snapshot).
struct ByteWriter {
    private(set) var bytes: [UInt8]

    init(magic: [UInt8], reserving capacity: Int = 0) {
        bytes = magic
        bytes.reserveCapacity(capacity)
    }

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes += $0 }
    }

    mutating func append(bytes more: some Sequence<UInt8>) {
        bytes += more
    }

    /// A u32 length, then the UTF-8 bytes.
    mutating func append(_ text: String) {
        append(UInt32(text.utf8.count))
        bytes += text.utf8
    }

    /// A presence byte, then the string when present.
    mutating func append(optional text: String?) {
        append(UInt8(text == nil ? 0 : 1))
        if let text { append(text) }
    }

    /// A u32 count, then each string.
    mutating func append(_ texts: [String]) {
        append(UInt32(texts.count))
        for text in texts { append(text) }
    }

    /// Closes the buffer with a SHA-256 of everything before it; readers check it before anything else.
    mutating func sealed() -> [UInt8] {
        bytes += SHA256Hasher.digest(of: bytes).bytes
        return bytes
    }
}

/// Bounds-checked reads over a byte buffer written by `ByteWriter`; every read past the end is nil,
/// so a short or damaged file is refused instead of trapping.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int

    init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var isAtEnd: Bool { offset == bytes.count }

    /// The unread bytes' start and count, for callers that walk a region themselves.
    mutating func take(_ count: Int) -> UnsafeRawBufferPointer? {
        guard count >= 0, bytes.count - offset >= count else { return nil }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    mutating func integer<T: FixedWidthInteger>(_: T.Type = T.self) -> T? {
        guard let raw = take(MemoryLayout<T>.size) else { return nil }
        return T(littleEndian: raw.loadUnaligned(as: T.self))
    }

    mutating func string() -> String? {
        guard let length = integer(UInt32.self), let raw = take(Int(length)) else { return nil }
        return String(decoding: raw, as: UTF8.self)
    }

    /// nil when the buffer ends or is malformed; `.some(nil)` for an absent string.
    mutating func optionalString() -> String?? {
        guard let present = integer(UInt8.self), present <= 1 else { return nil }
        guard present == 1 else { return .some(nil) }
        return string().map { .some($0) }
    }

    mutating func strings(limit: Int = 1 << 20) -> [String]? {
        guard let count = integer(UInt32.self), Int(count) <= limit else { return nil }
        var texts = [String]()
        for _ in 0..<count {
            guard let text = string() else { return nil }
            texts.append(text)
        }
        return texts
    }

    /// True when `bytes` ends with a SHA-256 of everything before it (as `ByteWriter.sealed` writes).
    static func isSealed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 32 else { return false }
        let hasher = SHA256Hasher()
        hasher.update(UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count - 32)]))
        return hasher.finish().bytes.elementsEqual(bytes[(bytes.count - 32)...])
    }
}

/// Writes a sealed state file as it is made: bytes gather in `body` and go to the file in 64 KiB
/// pieces, hashed on the way, and `finish` closes the file with the SHA-256 of all of them (the
/// form `ByteWriter.sealed` makes and `ByteReader.isSealed` checks), without holding the file whole.
struct SealedFileWriter {
    private let file: FileDescriptor
    private let seal = SHA256Hasher()
    var body: ByteWriter
    private static let pieceSize = 65536

    init(file: FileDescriptor, magic: [UInt8]) {
        self.file = file
        body = ByteWriter(magic: magic, reserving: Self.pieceSize + 4096)
    }

    /// Writes what `body` holds once it is a piece's worth.
    mutating func flushIfFull() throws(SystemError) {
        if body.bytes.count >= Self.pieceSize { try flush() }
    }

    mutating func finish() throws(SystemError) {
        try flush()
        try file.writeAll(seal.finish().bytes)
    }

    private mutating func flush() throws(SystemError) {
        body.bytes.withUnsafeBytes { seal.update($0) }
        try file.writeAll(body.bytes)
        body = ByteWriter(magic: [], reserving: Self.pieceSize + 4096)
    }
}
