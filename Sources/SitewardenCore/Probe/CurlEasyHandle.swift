import CCurl
import Synchronization

/// Why libcurl could not be set up for a probe: which call failed and libcurl's reason, or why
/// the library itself could not be loaded.
struct CurlSetupError: Error, CustomStringConvertible {
    /// The failing call, e.g. `curl_easy_setopt(PROTOCOLS_STR)`.
    var call: String
    var code: CURLcode
    /// The loader's message when the library is not there to explain `code` itself.
    var unloadable: String?

    init(call: String, code: CURLcode) {
        self.call = call
        self.code = code
    }

    init(unloadable message: String) {
        call = "dlopen(\(CurlLibrary.soname))"
        code = CURLE_FAILED_INIT
        unloadable = message
    }

    var description: String {
        if let unloadable { return "\(call): \(unloadable)" }
        return "\(call): \(String(cString: sw_curl_easy_strerror(code))) (CURLcode \(code.rawValue))"
    }
}

/// libcurl, loaded (`CCurl`'s `sw_curl_load`) and initialised on first use, by whichever thread
/// gets there first; never by a process that probes nothing. A failed attempt is made again by
/// the next probe, so installing libcurl4 under a running daemon is enough.
enum CurlLibrary {
    /// The OpenSSL flavour's soname (Debian's libcurl4; libcurl3-gnutls is `libcurl-gnutls.so.4`).
    static let soname = "libcurl.so.4"

    /// Whether libcurl is ready. The lock also orders the load before every use of the library:
    /// each use asks `setup` first.
    private static let state = Mutex(SetupState())

    /// nil once libcurl is loaded and initialised (loading it now if need be), else why not.
    static var setup: CurlSetupError? {
        state.withLock { state in
            state.attempt {
                if let problem = problem(loading: soname, commit: true) { return CurlSetupError(unloadable: problem) }
                let code = sw_curl_global_init(Int(CURL_GLOBAL_DEFAULT))
                return code == CURLE_OK ? nil : CurlSetupError(call: "curl_global_init", code: code)
            }
        }
    }

    /// Set-up that is done once it succeeds, and tried again each time until then.
    struct SetupState {
        private(set) var ready = false

        mutating func attempt(_ setUp: () -> CurlSetupError?) -> CurlSetupError? {
            guard !ready else { return nil }
            let problem = setUp()
            ready = problem == nil
            return problem
        }
    }

    /// True once libcurl is loaded and initialised (loading it if need be).
    static var isUsable: Bool { setup == nil }

    /// Why `library` would not do as libcurl (not found, or lacking a function), or nil. Only
    /// with `commit` are its functions used from then on, which `setup` alone does.
    static func problem(loading library: String, commit: Bool = false) -> String? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 512) { message in
            message.initialize(repeating: 0)
            guard sw_curl_load(library, commit ? 1 : 0, message.baseAddress, message.count) != 0 else { return nil }
            return String(cString: message.baseAddress!)
        }
    }
}

/// One libcurl easy handle with its error buffer; `deinit` cleans both up.
///
/// Not thread-safe: a handle serves one probe on one thread and is then dropped.
final class CurlEasyHandle {
    /// The C handle, for the multi interface to add and recognise it.
    let handle: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>

    init() throws(CurlSetupError) {
        if let problem = CurlLibrary.setup { throw problem }
        guard let handle = sw_curl_easy_init() else {
            throw CurlSetupError(call: "curl_easy_init", code: CURLE_FAILED_INIT)
        }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
    }

    deinit {
        // The handle points at the error buffer, so it goes first.
        sw_curl_easy_cleanup(handle)
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
        sw_curl_easy_perform(handle)
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
        let message = detailed.isEmpty ? String(cString: sw_curl_easy_strerror(code)) : detailed
        return String(message.reversed().drop(while: \.isNewline).reversed())
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws(CurlSetupError) {
        guard code != CURLE_OK else { return }
        let name =
            sw_curl_option_name(option).map { String(cString: $0) }
            ?? "\(option.rawValue)"
        throw CurlSetupError(call: "curl_easy_setopt(\(name))", code: code)
    }
}
