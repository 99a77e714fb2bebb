import Glibc

/// The drop-in files of a configuration: `conf.d/*.toml` beside the main file, in byte order of
/// their names, so fleet tools add targets (`conf.d/50-billing.toml`) without editing one file.
///
/// Hidden files and names not ending in `.toml` are skipped: editors and package managers leave
/// `.swp`, `.dpkg-old` and `~` files there.
enum ConfigDropIns {
    static let directoryName = "conf.d"

    /// The drop-in directory of the configuration at `path`.
    static func directory(besides path: String) -> String {
        let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if parent.isEmpty { return path.hasPrefix("/") ? "/" + directoryName : directoryName }
        return parent + "/" + directoryName
    }

    /// The drop-in files, in the order they are merged; none when the directory does not exist.
    static func files(besides path: String) throws(ConfigError) -> [String] {
        let directory = directory(besides: path)
        guard let handle = opendir(directory) else {
            if errno == ENOENT || errno == ENOTDIR { return [] }
            throw ConfigError(problems: [
                ConfigProblem(
                    path: directory, message: "cannot read the drop-in directory: \(SystemError("opendir", directory))")
            ])
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard !name.hasPrefix("."), name.hasSuffix(".toml"), name.count > ".toml".count else { continue }
            names.append(name)
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }.map { directory + "/" + $0 }
    }
}
