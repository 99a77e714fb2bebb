import Glibc

/// The environment variables through which glibc's resolver would let whoever starts sitewarden
/// change where a probe connects: `LOCALDOMAIN` (search domains for a single-label host name) and
/// `RES_OPTIONS` (`ndots`, rotation, timeouts). A probe goes to exactly the configured address, so
/// they are removed before anything resolves a name.
public enum ResolverEnvironment {
    static let names = ["LOCALDOMAIN", "RES_OPTIONS"]

    /// Removes the variables; call first thing in `main`, while the process has one thread
    /// (`unsetenv` is not safe against `getenv` on another thread).
    public static func clear() {
        for name in names { unsetenv(name) }
    }
}
