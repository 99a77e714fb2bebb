import Glibc

/// Shell-style globs as glibc's `fnmatch(3)` reads them, with no flags: `*` and `?` match `/`
/// too, so `*.log` matches `tunely/logs/today.log`, and `tunely/data/*` everything below it.
enum Glob {
    static func matches(_ pattern: String, _ path: String) -> Bool {
        fnmatch(pattern, path, 0) == 0
    }
}
