import Glibc

/// The staging directories (`<backup>.staging-<pid>`) that a `sitewarden baseline` killed while
/// copying left beside its backup, found and removed by the next baseline of that backup.
///
/// The pid in the name is the recording process's, so a directory whose process is gone is
/// nobody's any more; one whose process lives belongs to a baseline still running and is left
/// alone. Only names of exactly this pattern are considered, and only directories holding nothing
/// but `files/`: a staging directory gets its `manifest.json` just before it is renamed into place,
/// so a directory with one may be another target's backup that merely has such a name.
enum BaselineStagingLeftovers {
    static let separator = ".staging-"

    /// The staging directory process `pid` records `backupDirectory` in.
    static func path(for backupDirectory: String, pid: pid_t = getpid()) -> String {
        backupDirectory + separator + String(pid)
    }

    /// Removes the staging directories of `backupDirectory` whose process is gone; returns their paths.
    @discardableResult
    static func remove(besides backupDirectory: String, ownPID: pid_t = getpid()) -> [String] {
        let sample = path(for: backupDirectory, pid: 1)
        let parent = Paths.directory(of: sample)
        let prefix = String(Paths.lastComponent(of: sample).dropLast())
        var removed = [String]()
        for name in directoryEntries(parent) where name.hasPrefix(prefix) {
            let digits = String(name.dropFirst(prefix.count))
            // The exact decimal form getpid() gives: no sign, no leading zero, nothing after it.
            guard let pid = pid_t(digits), pid > 0, String(pid) == digits, pid != ownPID, !isAlive(pid) else {
                continue
            }
            let path = parent + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR,
                Set(directoryEntries(path)).isSubset(of: [BackupLayout.filesDirectory])
            else { continue }
            removeTree(path)
            removed.append(path)
        }
        return removed
    }

    /// `kill(pid, 0)`: EPERM means the process exists but belongs to someone else.
    private static func isAlive(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}
