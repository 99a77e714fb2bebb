import CCurl

/// What this libcurl can do that probes depend on.
public enum CurlCapabilities {
    /// Names are resolved on a thread (or with c-ares), so a hung DNS server is bounded by the
    /// probe's timeouts. A synchronous resolver could only be interrupted with SIGALRM, which a
    /// multi-threaded daemon must not use (CURLOPT_NOSIGNAL), so its lookups are unbounded.
    /// nil when libcurl cannot be loaded (every probe then says why). Loads it.
    public static var asynchronousDNS: Bool? { CurlLibrary.isUsable ? sw_curl_has_async_dns() != 0 : nil }

    /// libcurl's version, e.g. `7.88.1`, or why it cannot be loaded. Loads it.
    public static var version: String {
        if let problem = CurlLibrary.setup { return "unavailable (\(problem))" }
        return String(cString: sw_curl_version_text())
    }
}
