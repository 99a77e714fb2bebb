/// The start-up check that probe timeouts also bound name lookups.
///
/// With `CURLOPT_NOSIGNAL` (a multi-threaded daemon must not take SIGALRM) a synchronous resolver
/// cannot be interrupted: a DNS server that never answers would hold the cycle until the watchdog
/// fires. Only routes whose host needs DNS are at risk: IP literals, `localhost` (libcurl
/// resolves it itself) and unix sockets are not.
enum ResolverCheck {
    /// libcurl's facts are asked for only when a route needs DNS: asking loads the library.
    static func warning(
        asynchronousDNS: @autoclosure () -> Bool?, curlVersion: @autoclosure () -> String, targets: [TargetConfig]
    ) -> Event? {
        let exposed = targets.flatMap { target in
            target.routes.filter { needsDNS($0.probeRequest) }.map {
                "\(target.name): \($0.probeRequest.displayTarget)"
            }
        }
        // Without libcurl at all, every probe reports that instead.
        guard !exposed.isEmpty, asynchronousDNS() == false else { return nil }
        let curlVersion = curlVersion()
        return Event(
            .probeDNSUnbounded,
            "libcurl \(curlVersion) resolves names synchronously: probe timeouts cannot bound DNS lookups of "
                + exposed.joined(separator: ", "),
            [("CURL_VERSION", curlVersion), ("ROUTES", exposed.joined(separator: " "))])
    }

    /// Whether the route's host is a name only a resolver can turn into an address.
    static func needsDNS(_ request: ProbeRequest) -> Bool {
        guard request.unixSocket == nil else { return false }
        let address = request.configuredAddress
        var host = address.hasPrefix("[") ? "" : String(address.prefix { $0 != ":" })
        host = host.lowercased()
        if address.hasPrefix("[") || host == "localhost" || host.hasSuffix(".localhost") { return false }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        let isIPv4 = octets.count == 4 && octets.allSatisfy { UInt8($0) != nil }
        return !isIPv4
    }
}
