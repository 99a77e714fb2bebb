// libFuzzer entry point for the configuration loader (toml++ through CTOMLBridge, then the
// decoder and its rules); built and run by bench/fuzz.sh, not by `swift test`.

/// Keeps the results from being optimized away.
nonisolated(unsafe) var configFuzzSink = 0

@_cdecl("LLVMFuzzerTestOneInput")
public func configFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let config = try ConfigLoader.decode(bytes, path: "fuzz.toml")
        configFuzzSink &+= config.targets.count &+ Int(config.daemon.interval.wholeNanoseconds % 7)
    } catch {
        for problem in error.problems {
            configFuzzSink &+= "\(problem)".utf8.count
        }
    }
    // The public entry point goes through String, which repairs invalid UTF-8 first.
    _ = try? ConfigLoader.parse(text: String(decoding: bytes, as: UTF8.self), path: "fuzz.toml")
    return 0
}
