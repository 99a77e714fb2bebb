import CCurl

/// A `curl_slist` (request headers), freed in `deinit`.
final class CurlStringList {
    private(set) var head: UnsafeMutablePointer<curl_slist>?

    init(_ lines: [String]) throws(CurlSetupError) {
        for line in lines {
            guard let appended = sw_curl_slist_append(head, line) else {
                throw CurlSetupError(call: "curl_slist_append", code: CURLE_OUT_OF_MEMORY)
            }
            head = appended
        }
    }

    deinit {
        sw_curl_slist_free_all(head)
    }
}
