import CCurl

/// Why libcurl could not be set up for a probe: which call failed and libcurl's reason.
struct CurlSetupError: Error, CustomStringConvertible {
    /// The failing call, e.g. `curl_easy_setopt(PROTOCOLS_STR)`.
    var call: String
    var code: CURLcode

    var description: String {
        "\(call): \(String(cString: curl_easy_strerror(code))) (CURLcode \(code.rawValue))"
    }
}

/// libcurl's process-wide initialisation, run once, on first use, by whichever thread gets there first.
private enum CurlGlobal {
    /// Swift runs a static's initialiser exactly once under a lock, which makes this lazy and thread-safe.
    static let initResult: CURLcode = curl_global_init(Int(CURL_GLOBAL_DEFAULT))
}

/// One libcurl easy handle with its error buffer; `deinit` cleans both up.
///
/// Not thread-safe: a handle serves one probe on one thread and is then dropped.
final class CurlEasyHandle {
    /// The C handle, for the multi interface to add and recognise it.
    let handle: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>

    init() throws(CurlSetupError) {
        guard CurlGlobal.initResult == CURLE_OK else {
            throw CurlSetupError(call: "curl_global_init", code: CurlGlobal.initResult)
        }
        guard let handle = curl_easy_init() else {
            throw CurlSetupError(call: "curl_easy_init", code: CURLE_FAILED_INIT)
        }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
    }

    deinit {
        // The handle points at the error buffer, so it goes first.
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    func set(_ option: CURLoption, _ value: Int) throws(CurlSetupError) {
        try check(sw_curl_setopt_long(handle, option, value), option)
    }

    /// libcurl copies string options, so the C string need only live for the call.
    func set(_ option: CURLoption, _ value: String) throws(CurlSetupError) {
        try check(value.withCString { sw_curl_setopt_string(handle, option, $0) }, option)
    }

    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws(CurlSetupError) {
        try check(sw_curl_setopt_pointer(handle, option, pointer), option)
    }

    /// COPYPOSTFIELDS copies the bytes during the call; POSTFIELDSIZE, set before, gives their length.
    func setCopiedPostFields(_ bytes: [UInt8]) throws(CurlSetupError) {
        // An empty body still needs a valid pointer, or libcurl would read the length with strlen.
        let padded = bytes + [0]
        let code = padded.withUnsafeBytes { raw in
            sw_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress))
        }
        try check(code, CURLOPT_COPYPOSTFIELDS)
    }

    /// libcurl keeps the pointer: `list` must outlive the transfer.
    func set(_ option: CURLoption, list: CurlStringList) throws(CurlSetupError) {
        try check(sw_curl_setopt_pointer(handle, option, list.head), option)
    }

    func setWriteFunction(_ callback: sw_curl_write_callback) throws(CurlSetupError) {
        try check(sw_curl_setopt_write_function(handle, callback), CURLOPT_WRITEFUNCTION)
    }

    /// Runs the transfer on the calling thread until it finishes, fails or times out.
    func perform() -> CURLcode {
        curl_easy_perform(handle)
    }

    /// The address of the last connection, `127.0.0.1:8083` or `[::1]:8083`, or `nil` when none was made.
    func connectedAddress() -> String? {
        var ip: UnsafeMutablePointer<CChar>?
        var port = 0
        guard sw_curl_getinfo_string(handle, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK, let ip, ip.pointee != 0,
            sw_curl_getinfo_long(handle, CURLINFO_PRIMARY_PORT, &port) == CURLE_OK
        else { return nil }
        let text = String(cString: ip)
        return text.contains(":") ? "[\(text)]:\(port)" : "\(text):\(port)"
    }

    /// The last HTTP status received, or `nil` when no status line arrived.
    func responseCode() -> Int? {
        var code = 0
        guard sw_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK, code > 0 else {
            return nil
        }
        return code
    }

    /// libcurl's detailed message for a failed transfer (it names host and port where it knows them),
    /// or its generic text for `code` when the buffer is empty.
    func errorMessage(for code: CURLcode) -> String {
        let detailed = String(cString: errorBuffer)
        let message = detailed.isEmpty ? String(cString: curl_easy_strerror(code)) : detailed
        return String(message.reversed().drop(while: \.isNewline).reversed())
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws(CurlSetupError) {
        guard code != CURLE_OK else { return }
        let name =
            curl_easy_option_by_id(option).map { String(cString: $0.pointee.name) }
            ?? "\(option.rawValue)"
        throw CurlSetupError(call: "curl_easy_setopt(\(name))", code: code)
    }
}
