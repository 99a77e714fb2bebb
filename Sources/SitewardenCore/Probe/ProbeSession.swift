import CCurl

/// Runs a target's route probes concurrently through one libcurl multi handle, which keeps the
/// connections between rounds so the next cycle reuses them.
///
/// `run` blocks until every probe has ended, each within its own timeout, calling `progress`
/// at least every 100 ms meanwhile: a cycle waiting for a slow route is making progress, not hung.
/// One owner at a time (a monitor on the cycle queue): libcurl handles are not thread-safe.
public final class ProbeSession {
    private var multi: CurlMulti?
    /// Beyond its own timeout, how long a transfer may run before the session gives up on it:
    /// libcurl ends every transfer itself; this only catches one it does not (a blocking resolver).
    static let grace: Duration = .seconds(1)

    public init() {}

    public func run(_ requests: [ProbeRequest], progress: () -> Void = {}) -> [ProbeResult] {
        // A target without routes sets up no libcurl at all.
        guard !requests.isEmpty else { return [] }
        var results = [ProbeResult?](repeating: nil, count: requests.count)
        var active: [Transfer] = []
        let multi: CurlMulti
        do {
            multi = try self.multi ?? CurlMulti()
            self.multi = multi
        } catch {
            return requests.map {
                Transfer.result($0, .connectionFailed("could not set up libcurl: \(error)"), nil, .zero, nil)
            }
        }

        for (index, request) in requests.enumerated() {
            if let problem = HTTPProbe.problem(with: request) {
                results[index] = Transfer.result(request, .invalidRequest(problem), nil, .zero, nil)
                continue
            }
            do {
                let transfer = try Transfer(request, index: index)
                try multi.add(transfer.easy)
                active.append(transfer)
            } catch {
                // A header whose file or variable is missing, or a libcurl option refused.
                results[index] = Transfer.result(request, .invalidRequest("\(error)"), nil, .zero, nil)
            }
        }

        while !active.isEmpty {
            _ = multi.perform()
            for (handle, code) in multi.finished() {
                guard let position = active.firstIndex(where: { $0.easy.handle == handle }) else { continue }
                let transfer = active.remove(at: position)
                multi.remove(transfer.easy)
                results[transfer.index] = transfer.finish(code)
            }
            for transfer in active where transfer.started.duration(to: .now) > transfer.request.timeout + Self.grace {
                multi.remove(transfer.easy)
                results[transfer.index] = transfer.finish(CURLE_OPERATION_TIMEDOUT)
            }
            active.removeAll { results[$0.index] != nil }
            progress()
            if !active.isEmpty { multi.wait(milliseconds: 100) }
        }
        return results.map { $0! }
    }
}

/// One request in flight: its easy handle and what libcurl writes into.
private final class Transfer {
    let request: ProbeRequest
    let index: Int
    let easy: CurlEasyHandle
    let body: ResponseBody
    /// libcurl keeps a pointer to the header list until the transfer is removed.
    let headers: CurlStringList
    let started = ContinuousClock.now

    init(_ request: ProbeRequest, index: Int) throws {
        self.request = request
        self.index = index
        easy = try CurlEasyHandle()
        body = ResponseBody(limit: request.maxBodyBytes)
        headers = try CurlStringList(
            try request.headers.map { header throws(ProbeHeader.Unavailable) in try header.line() })
        try HTTPProbe.configure(easy, for: request, body: body, headers: headers)
    }

    func finish(_ code: CURLcode) -> ProbeResult {
        let status = easy.responseCode()
        let verdict = HTTPProbe.verdict(for: request, code: code, status: status, body: body, handle: easy)
        // libcurl reports a unix socket's path as the "IP", with the URL's port beside it.
        let address = request.unixSocket ?? easy.connectedAddress()
        return Self.result(request, verdict, status, started.duration(to: .now), address)
    }

    static func result(
        _ request: ProbeRequest, _ verdict: ProbeVerdict, _ status: Int?, _ elapsed: Duration, _ connected: String?
    ) -> ProbeResult {
        let address = connected ?? request.configuredAddress
        return ProbeResult(
            url: request.displayTarget, verdict: verdict, status: status, elapsed: elapsed,
            summary: HTTPProbe.summary(
                of: request, verdict: verdict, status: status, elapsed: elapsed, address: address),
            method: request.method, address: address)
    }
}
