import CCurl

/// A libcurl multi handle: runs several transfers at once on the calling thread and keeps their
/// connections in one cache, so the next round of probes reuses them. `deinit` cleans it up.
///
/// Not thread-safe: one owner (a target's monitor, on the cycle queue) uses it at a time.
final class CurlMulti {
    private let multi: UnsafeMutableRawPointer

    init() throws(CurlSetupError) {
        // The easy handle's initialiser loads and initialises libcurl; a multi handle needs that too.
        _ = try CurlEasyHandle()
        guard let multi = sw_curl_multi_init() else {
            throw CurlSetupError(call: "curl_multi_init", code: CURLE_FAILED_INIT)
        }
        self.multi = multi
    }

    deinit {
        sw_curl_multi_cleanup(multi)
    }

    func add(_ easy: CurlEasyHandle) throws(CurlSetupError) {
        let code = sw_curl_multi_add_handle(multi, easy.handle)
        guard code == CURLM_OK else { throw CurlSetupError(call: "curl_multi_add_handle", code: CURLE_FAILED_INIT) }
    }

    func remove(_ easy: CurlEasyHandle) {
        _ = sw_curl_multi_remove_handle(multi, easy.handle)
    }

    /// Advances every transfer as far as it goes without blocking; the number still running.
    func perform() -> Int {
        var running: Int32 = 0
        _ = sw_curl_multi_perform(multi, &running)
        return Int(running)
    }

    /// Waits up to `milliseconds` for activity on any transfer (or libcurl's own next timeout).
    func wait(milliseconds: Int) {
        _ = sw_curl_multi_poll(multi, Int32(milliseconds))
    }

    /// The transfers that finished since the last call, as (handle, result).
    func finished() -> [(UnsafeMutableRawPointer, CURLcode)] {
        var done: [(UnsafeMutableRawPointer, CURLcode)] = []
        var left: Int32 = 0
        while let message = sw_curl_multi_info_read(multi, &left) {
            if sw_curl_msg_is_done(message) != 0, let easy = message.pointee.easy_handle {
                done.append((easy, sw_curl_msg_result(message)))
            }
        }
        return done
    }
}
