import CCurl

/// The part of a response body a probe keeps: at most `limit` bytes, and whether the server sent more.
///
/// libcurl's write callback reaches it through an unretained `Unmanaged` pointer; the probe keeps it
/// alive for the whole transfer.
final class ResponseBody {
    let limit: Int
    private(set) var bytes: [UInt8] = []
    /// Set when a chunk would have taken the body past `limit`; the transfer is then aborted.
    private(set) var overflowed = false

    init(limit: Int) {
        self.limit = limit
    }

    /// Keeps `chunk` if it fits under the limit; `false` tells libcurl to abort the transfer.
    func append(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard chunk.count <= limit - bytes.count else {
            overflowed = true
            return false
        }
        bytes.append(contentsOf: chunk)
        return true
    }

    /// Whether `needle`'s UTF-8 bytes occur in the body; an empty needle always does.
    func contains(_ needle: String) -> Bool {
        let needle = Array(needle.utf8)
        guard !needle.isEmpty else { return true }
        guard needle.count <= bytes.count else { return false }
        return (0...(bytes.count - needle.count)).contains { start in
            bytes[start] == needle[0] && bytes[start..<(start + needle.count)].elementsEqual(needle)
        }
    }

    /// libcurl's `CURLOPT_WRITEFUNCTION`: hands each chunk to the `ResponseBody` behind `context`.
    static let writeCallback: sw_curl_write_callback = { data, size, count, context in
        let (total, overflow) = size.multipliedReportingOverflow(by: count)
        guard let context, !overflow else { return 0 }
        guard let data, total > 0 else { return total }

        let body = Unmanaged<ResponseBody>.fromOpaque(context).takeUnretainedValue()
        // Any return value other than `total` makes libcurl stop with CURLE_WRITE_ERROR.
        return body.append(UnsafeRawBufferPointer(start: data, count: total)) ? total : 0
    }
}
