import Glibc

/// Lexical path helpers. Nothing here touches the filesystem except `realPath`.
enum Paths {
    /// Whether `lhs` sorts before `rhs` by the bytes of their UTF-8: the order sitewarden keeps
    /// paths in (expectations, the scan cache), the same on every machine and in every locale.
    static func bytewiseBefore(_ lhs: String, _ rhs: String) -> Bool {
        var lhs = lhs
        var rhs = rhs
        return lhs.withUTF8 { left in rhs.withUTF8 { right in bytewiseBefore(left, right) } }
    }

    /// `bytewiseBefore` of two paths' bytes in place.
    static func bytewiseBefore(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>) -> Bool {
        let common = min(left.count, right.count)
        if common > 0 {
            let order = memcmp(left.baseAddress!, right.baseAddress!, common)
            if order != 0 { return order < 0 }
        }
        return left.count < right.count
    }

    /// Joins and normalizes: collapses `//` and `.`, resolves `..` lexically. `base` must be absolute.
    static func normalize(_ path: String) -> String {
        // Nearly every path is normal already (a site-packages path plus a RECORD row): a scan of its
        // bytes saves the split and join for each of the tens of thousands of files in a venv.
        if isNormal(path) { return path }
        var parts = [Substring]()
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// True when `path` is absolute, has no empty, `.` or `..` component and no trailing slash.
    private static func isNormal(_ path: String) -> Bool {
        let slash = UInt8(ascii: "/")
        let dot = UInt8(ascii: ".")
        var utf8 = path.utf8.makeIterator()
        guard utf8.next() == slash else { return false }
        var component = 0
        var dots = 0
        while let byte = utf8.next() {
            if byte == slash {
                // "//", "/./" or "/../"
                guard component > dots || component > 2 else { return false }
                component = 0
                dots = 0
            } else {
                component += 1
                if byte == dot { dots += 1 }
            }
        }
        return path == "/" || (component > 0 && (component > dots || component > 2))
    }

    static func join(_ base: String, _ relative: String) -> String {
        relative.hasPrefix("/") ? relative : base + "/" + relative
    }

    /// True when `path` is `root` or lies below it (both normalized, absolute).
    static func isInside(_ path: String, root: String) -> Bool {
        // Compared in place: this runs once per file of a verification.
        let (path, root) = (path.utf8, root.utf8)
        guard !root.elementsEqual("/".utf8) else { return true }
        guard path.starts(with: root) else { return false }
        return path.count == root.count || path[path.index(path.startIndex, offsetBy: root.count)] == UInt8(ascii: "/")
    }

    /// `path` relative to `root`, which must contain it.
    static func relative(_ path: String, to root: String) -> String {
        // By bytes, like `isInside`: a combining mark after the root's `/` stays in the result.
        if path.utf8.elementsEqual(root.utf8) { return "." }
        return String(path.utf8.dropFirst(root.utf8.elementsEqual("/".utf8) ? 1 : root.utf8.count + 1))!
    }

    /// The path up to its last `/` byte (a filesystem's separator is a byte: a combining mark
    /// after it, which would make `/` part of a larger Character, does not hide it).
    static func directory(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        return slash == path.utf8.startIndex ? "/" : String(path[..<slash])
    }

    static func lastComponent(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(path[path.utf8.index(after: slash)...])
    }

    /// `realpath(3)`: every symlink resolved. Throws when the path does not exist.
    static func realPath(_ path: String) throws(SystemError) -> String {
        guard let resolved = realpath(path, nil) else { throw SystemError("realpath", path) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The deepest existing ancestor of `path`, with symlinks resolved, followed by the
    /// not-yet-existing rest. Lets a missing file's location be checked for symlink escapes.
    static func resolveExistingPrefix(_ path: String) -> String {
        var existing = path
        var rest = [String]()
        while existing != "/" {
            if let resolved = try? realPath(existing) {
                return rest.isEmpty ? resolved : normalize(resolved + "/" + rest.reversed().joined(separator: "/"))
            }
            rest.append(lastComponent(of: existing))
            existing = directory(of: existing)
        }
        return normalize("/" + rest.reversed().joined(separator: "/"))
    }
}
