/// Checks on single configuration values; each returns what is wrong, or nil when the value is fine.
enum ConfigRules {
    static func notEmpty(_ value: String) -> String? {
        value.isEmpty ? "must not be empty" : nil
    }

    /// Paths are used from a daemon whose working directory nobody chose, so they must be absolute.
    static func absolutePath(_ value: String) -> String? {
        value.hasPrefix("/") ? nil : "must be an absolute path, found '\(value)'"
    }

    static func serviceUnit(_ value: String) -> String? {
        value.hasSuffix(".service") && value.count > ".service".count
            ? nil : "must name a service unit ending in '.service', found '\(value)'"
    }

    static func httpURL(_ value: String) -> String? {
        let scheme = ["http://", "https://"].first { value.lowercased().hasPrefix($0) }
        guard let scheme, value.count > scheme.count else {
            return "must be an http:// or https:// URL, found '\(value)'"
        }
        return nil
    }

    static func httpStatus(_ value: Int64) -> String? {
        (100...599).contains(value) ? nil : "must be an HTTP status between 100 and 599, found \(value)"
    }
}
