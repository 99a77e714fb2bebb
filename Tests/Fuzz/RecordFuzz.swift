// libFuzzer entry point for the RECORD parser; built and run by bench/fuzz.sh, not by `swift test`.
// Compiled into the same module as SitewardenCore's sources, so internal API is in reach.

/// Keeps the parse from being optimized away.
nonisolated(unsafe) var recordFuzzSink = 0

@_cdecl("LLVMFuzzerTestOneInput")
public func recordFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    let record = Record(parsing: bytes)
    for entry in record.entries {
        recordFuzzSink &+= entry.path.utf8.count &+ (entry.size ?? 0) &+ entry.line
        if let hash = entry.hash {
            recordFuzzSink &+= hash.algorithm.utf8.count &+ (hash.digest?.count ?? 0)
        }
        recordFuzzSink &+= entry.path.printable.utf8.count
    }
    for problem in record.problems {
        recordFuzzSink &+= "\(problem)".utf8.count
    }
    return 0
}
