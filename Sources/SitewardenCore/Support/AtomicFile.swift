import Glibc

/// Replaces a whole file so that readers see the old content or the new, never half of either:
/// written to a temporary name in the same directory (so the rename stays on one filesystem),
/// synced, then renamed over the target.
enum AtomicFile {
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws(SystemError) {
        // Hidden and without the target's extension: node_exporter reads only `*.prom`, so it
        // never picks up a half-written metrics file.
        let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let name = path.split(separator: "/").last.map(String.init) ?? path
        let temporary = (parent.isEmpty ? "" : parent + "/") + ".\(name).\(getpid()).tmp"
        do throws(SystemError) {
            let file = try FileDescriptor.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: mode)
            try file.writeAll(bytes)
            // The umask must not narrow what readers (node_exporter, an operator) may read.
            guard fchmod(file.rawValue, mode) == 0 else { throw SystemError("fchmod", temporary) }
            try file.sync()
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let error = SystemError("rename", "\(temporary) to \(path)")
            unlink(temporary)
            throw error
        }
    }
}
