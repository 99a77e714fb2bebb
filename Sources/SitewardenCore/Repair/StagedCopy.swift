import Glibc

/// Copies a file into a new inode beside its destination, hashing the bytes as they are written.
///
/// The copy is durable (`fsync`) before anyone renames it into place, so after a crash a renamed
/// file is whole. It is never written through an existing inode: uv hardlinks venv files to its
/// cache, and an in-place write would change every venv sharing that inode.
struct StagedCopy {
    /// The temporary path, in the same directory (so the same mount) as `destination`.
    let stagedPath: String
    let destination: String
    let facts: FileFacts

    /// Marks staged files, so leftovers of an interrupted restore are recognisable:
    /// `StagedLeftovers` removes them at daemon start and before `sitewarden restore`.
    static let marker = ".sitewarden-staged-"

    /// Stages `source` next to `destination` with the given permission bits and owner.
    ///
    /// Ownership is applied only when running as root; an unprivileged daemon keeps its own.
    static func stage(
        from source: String, to destination: String, mode: UInt32, owner: UInt32, group: UInt32
    ) throws(RepairError) -> StagedCopy {
        let directory = Paths.directory(of: destination)
        let stagedPath = directory + "/" + marker + Paths.lastComponent(of: destination) + "." + randomSuffix()

        let input: FileDescriptor
        do { input = try FileDescriptor.open(source, O_RDONLY | O_NOFOLLOW) } catch {
            throw RepairError(file: source, step: "open backup copy", cause: "\(error)")
        }
        let output: FileDescriptor
        do { output = try FileDescriptor.open(stagedPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600) } catch
        {
            throw RepairError(file: destination, step: "create staged copy", cause: "\(error)")
        }
        do {
            let facts = try copy(input, to: output, mode: mode, owner: owner, group: group)
            return StagedCopy(stagedPath: stagedPath, destination: destination, facts: facts)
        } catch {
            unlink(stagedPath)
            throw RepairError(file: destination, step: "write staged copy", cause: "\(error)")
        }
    }

    private static func copy(
        _ input: FileDescriptor, to output: FileDescriptor, mode: UInt32, owner: UInt32, group: UInt32
    ) throws(SystemError) -> FileFacts {
        let (digest, size) = try copyHashing(input, to: output)
        if geteuid() == 0 {
            guard fchown(output.rawValue, owner, group) == 0 else { throw SystemError("fchown", output.path) }
        }
        // fchmod after fchown: chown clears set-id bits.
        guard fchmod(output.rawValue, mode_t(mode)) == 0 else { throw SystemError("fchmod", output.path) }
        try output.sync()
        return FileFacts(sha256: digest, size: size, mode: mode, owner: owner, group: group)
    }

    /// Renames the staged copy over its destination: readers see the old file or the new one.
    func commit() throws(RepairError) {
        guard rename(stagedPath, destination) == 0 else {
            let error = SystemError("rename", stagedPath)
            throw RepairError(file: destination, step: "replace", cause: "\(error)")
        }
    }

    func discard() {
        unlink(stagedPath)
    }

    private static func randomSuffix() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<6).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}

/// Copies `input` to `output` in one pass, hashing the bytes as they are written: the digest is
/// of exactly what was copied, even if the source changes afterwards.
func copyHashing(_ input: FileDescriptor, to output: FileDescriptor) throws(SystemError) -> (SHA256Digest, Int) {
    let hasher = SHA256Hasher()
    var buffer = [UInt8](repeating: 0, count: 256 * 1024)
    var size = 0
    while true {
        let count = try input.read(into: &buffer)
        if count == 0 { return (hasher.finish(), size) }
        buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        try output.writeAll(buffer, count: count)
        size += count
    }
}

/// Flushes a directory's entries (new names, renames) to disk.
func syncDirectory(_ path: String) throws(SystemError) {
    let directory = try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY)
    try directory.sync()
}

/// Creates `path` and its missing parents with mode 0755.
func makeDirectories(_ path: String) throws(SystemError) {
    var current = ""
    for part in path.split(separator: "/") {
        current += "/" + part
        if mkdir(current, 0o755) != 0 && errno != EEXIST { throw SystemError("mkdir", current) }
    }
}

/// A repair step that failed: which file, which step, and why.
public struct RepairError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var step: String
    public var cause: String

    public var description: String { "could not \(step) for \(file): \(cause)" }
}
