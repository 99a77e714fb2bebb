import Glibc

/// Unbuffered writes to stdout and stderr, safe from any thread.
public enum StandardStreams {
    public static func write(_ text: String) {
        writeAll(text, to: STDOUT_FILENO)
    }

    public static func writeError(_ text: String) {
        writeAll(text, to: STDERR_FILENO)
    }

    private static func writeAll(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeMutableBytes {
                Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset)
            }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return }
            offset += count
        }
    }
}
