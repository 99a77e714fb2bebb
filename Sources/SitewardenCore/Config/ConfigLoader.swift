/// Loads and checks sitewarden's TOML configuration.
public enum ConfigLoader {
    /// Reads and decodes the file at `path`; every problem found is in the thrown error.
    public static func load(path: String) throws(ConfigError) -> SitewardenConfig {
        try decode(ConfigFile.read(path: path), path: path)
    }

    /// Decodes `text` as if read from `path`, which only names the file in problems and the result.
    public static func parse(text: String, path: String) throws(ConfigError) -> SitewardenConfig {
        try decode(Array(text.utf8), path: path)
    }

    /// Works on bytes so that a file that is not valid UTF-8 reaches toml++ as it is and is reported
    /// with a position, instead of being silently repaired to U+FFFD.
    static func decode(_ bytes: [UInt8], path: String) throws(ConfigError) -> SitewardenConfig {
        let root: TOMLNode
        do {
            root = try TOMLParser.parse(bytes, sourcePath: path)
        } catch {
            throw ConfigError(problems: [ConfigProblem(path: path, position: error.position, message: error.message)])
        }
        return try ConfigDecoder.decode(root, path: path)
    }
}
