import Glibc

/// Checks on single configuration values; each returns what is wrong, or nil when the value is fine.
enum ConfigRules {
    static func notEmpty(_ value: String) -> String? {
        value.isEmpty ? "must not be empty" : nil
    }

    /// Paths are used from a daemon whose working directory nobody chose, so they must be absolute;
    /// and a NUL would silently cut the path where the system call reads it (`/tmp/x\0/etc` is `/tmp/x`).
    static func absolutePath(_ value: String) -> String? {
        if value.contains("\0") {
            return "must not contain a NUL character (the system would cut the path there), found '\(value.printable)'"
        }
        return value.hasPrefix("/") ? nil : "must be an absolute path, found '\(value.printable)'"
    }

    /// Names end up in sd_notify STATUS= lines and journal fields, where a newline would start
    /// a new field: no control characters.
    static func plainText(_ value: String) -> String? {
        if let problem = notEmpty(value) { return problem }
        return value.unicodeScalars.contains { $0.properties.generalCategory == .control }
            ? "must not contain control characters (newlines, tabs, escapes)" : nil
    }

    /// A target's name is a path component (`<state_directory>/quarantine/<name>/`), so it may hold
    /// only letters, digits, `.`, `_` and `-` and may not start with `.`: no `/`, no `..`, no NUL,
    /// nothing that leaves the state directory or hides there.
    static func targetName(_ value: String) -> String? {
        if let problem = notEmpty(value) { return problem }
        let allowed = value.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || [".", "_", "-"].contains(scalar))
        }
        guard allowed, !value.hasPrefix(".") else {
            return "may hold only letters, digits, '.', '_' and '-' and must not start with '.' "
                + "(it names a directory in the state directory), found '\(value.printable)'"
        }
        return nil
    }

    /// The backup must be a directory of its own: `sitewarden baseline` replaces it whole, so it may
    /// neither hold the venv nor lie inside it (where an installer would rewrite it too).
    static func separateBackup(_ backup: String, venv: String) -> String? {
        let backup = Paths.normalize(backup)
        let venv = Paths.normalize(venv)
        guard !Paths.isInside(backup, root: venv), !Paths.isInside(venv, root: backup) else {
            return "backup '\(backup)' overlaps venv '\(venv)': it must be a directory of its own, outside the venv"
        }
        return nil
    }

    /// node_exporter's textfile collector reads only `*.prom` files.
    static func metricsFile(_ value: String) -> String? {
        if let problem = absolutePath(value) { return problem }
        let name = value.split(separator: "/").last.map(String.init) ?? ""
        return name.hasSuffix(".prom") && name.count > ".prom".count
            ? nil
            : "must name a file ending in '.prom' (node_exporter's textfile collector reads only those), found '\(value.printable)'"
    }

    /// For `check-config`: the path is an existing directory (following symlinks, as the daemon does).
    static func directoryExists(_ value: String) -> String? {
        var info = stat()
        guard stat(value, &info) == 0 else {
            return "'\(value)' does not exist or cannot be reached (\(SystemError("stat", value).callAndCause))"
        }
        return info.st_mode & S_IFMT == S_IFDIR ? nil : "'\(value)' is not a directory"
    }

    /// A directory sitewarden creates when it first needs it (the state directory, a backup) may be
    /// absent, but what is there already must be a directory: over a regular file every restore
    /// would fail to quarantine and every baseline to replace it. One stat, so the daemon checks too.
    static func directoryIfPresent(_ value: String) -> String? {
        var info = stat()
        guard stat(value, &info) == 0 else {
            return errno == ENOTDIR ? "'\(value)' cannot be a directory: a part of the path is not a directory" : nil
        }
        return info.st_mode & S_IFMT == S_IFDIR ? nil : "'\(value)' exists but is not a directory"
    }

    /// For `check-config`: the directory a file is to be written into exists.
    static func parentDirectoryExists(_ value: String) -> String? {
        let parent = value.split(separator: "/").dropLast().joined(separator: "/")
        return directoryExists("/" + parent).map { "its directory: \($0)" }
    }

    static func serviceUnit(_ value: String) -> String? {
        if !value.isEmpty, let problem = plainText(value) { return "\(problem), found '\(value.printable)'" }
        return plainText(value) == nil && value.hasSuffix(".service") && value.count > ".service".count
            ? nil : "must name a service unit ending in '.service', found '\(value.printable)'"
    }

    static func httpURL(_ value: String) -> String? {
        let scheme = ["http://", "https://"].first { value.lowercased().hasPrefix($0) }
        guard let scheme, value.count > scheme.count, plainText(value) == nil, !value.contains(" ") else {
            return "must be an http:// or https:// URL, found '\(value.printable)'"
        }
        return urlAuthorityProblem(String(value.dropFirst(scheme.count)), in: value)
    }

    /// The host and port between the scheme and the path: a host must be there, and a port must be
    /// a number from 1 to 65535 (`http://127.0.0.1:80800/` is a typo libcurl would only report at
    /// the first probe).
    private static func urlAuthorityProblem(_ rest: String, in value: String) -> String? {
        let authority = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let hostAndPort = authority.split(separator: "@").last.map(String.init) ?? ""
        var host = hostAndPort
        var port: Substring?
        if hostAndPort.hasPrefix("[") {
            guard let close = hostAndPort.firstIndex(of: "]") else {
                return "has an unterminated IPv6 address in '\(value)'"
            }
            host = String(hostAndPort[...close])
            let after = hostAndPort[hostAndPort.index(after: close)...]
            if after.hasPrefix(":") { port = after.dropFirst() }
        } else if let colon = hostAndPort.lastIndex(of: ":") {
            host = String(hostAndPort[..<colon])
            port = hostAndPort[hostAndPort.index(after: colon)...]
        }
        guard !host.isEmpty else { return "has no host in '\(value)'" }
        if let port, !port.isEmpty {
            guard port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber), let number = Int(port),
                (1...65535).contains(number)
            else { return "has port '\(port)', which is not a number from 1 to 65535, in '\(value)'" }
        }
        return nil
    }

    /// An integer setting with an inclusive range.
    static func within(_ range: ClosedRange<Int>) -> (Int64) -> String? {
        { value in
            range.contains(Int(clamping: value))
                ? nil : "must be between \(range.lowerBound) and \(range.upperBound), found \(value)"
        }
    }

    static func modeMask(_ value: Int64) -> String? {
        (0...0o7777).contains(value)
            ? nil : "must be permission bits between 0o0 and 0o7777 (write it as 0o7133), found \(value)"
    }

    static func repairMode(_ value: String) -> String? {
        RepairMode(rawValue: value) == nil ? "must be \"repair\" or \"observe\", found '\(value)'" : nil
    }

    static func httpStatus(_ value: Int64) -> String? {
        (100...599).contains(value) ? nil : "must be an HTTP status between 100 and 599, found \(value)"
    }
}
