/// Loads and checks sitewarden's TOML configuration: the main file and its drop-ins.
public enum ConfigLoader {
    /// Reads and decodes the file at `path` and the drop-ins in `conf.d/` beside it; every problem
    /// found, in every file, is in the thrown error.
    ///
    /// `checkFilesystem` (`sitewarden check-config`) also requires that the paths the
    /// configuration names exist where they must (each venv, the metrics file's directory); the
    /// daemon does not, since a venv missing for a while is something it reports, not a reason
    /// not to start.
    public static func load(path: String, checkFilesystem: Bool = false) throws(ConfigError) -> SitewardenConfig {
        let files = [path] + (try ConfigDropIns.files(besides: path))
        var documents: [(file: String, root: TOMLNode)] = []
        var problems: [ConfigProblem] = []
        for file in files {
            do {
                documents.append((file, try parse(ConfigFile.read(path: file), path: file)))
            } catch {
                problems += error.problems
            }
        }
        guard problems.isEmpty else { throw ConfigError(problems: problems) }
        return try ConfigDecoder.decode(
            ConfigMerge.merge(documents), path: path, files: files, checkFilesystem: checkFilesystem)
    }

    /// The files `load(path:)` reads, in merge order: the main file, then its drop-ins.
    public static func files(path: String) throws(ConfigError) -> [String] {
        [path] + (try ConfigDropIns.files(besides: path))
    }

    /// Decodes `text` as if read from `path`, which only names the file in problems and the result.
    /// No drop-ins are read.
    public static func parse(text: String, path: String) throws(ConfigError) -> SitewardenConfig {
        try decode(Array(text.utf8), path: path)
    }

    /// Works on bytes so that a file that is not valid UTF-8 reaches toml++ as it is and is reported
    /// with a position, instead of being silently repaired to U+FFFD.
    static func decode(_ bytes: [UInt8], path: String) throws(ConfigError) -> SitewardenConfig {
        try ConfigDecoder.decode(try parse(bytes, path: path), path: path)
    }

    private static func parse(_ bytes: [UInt8], path: String) throws(ConfigError) -> TOMLNode {
        do {
            return try TOMLParser.parse(bytes, sourcePath: path)
        } catch {
            throw ConfigError(problems: [ConfigProblem(path: path, position: error.position, message: error.message)])
        }
    }
}
