import Glibc

/// Times as `sitewarden status` prints them: local wall-clock time with how long ago.
enum TimeText {
    /// `2026-12-04 01:42:07 (12s ago)`, or `never`.
    static func moment(_ unix: Int?, now: Int) -> String {
        guard let unix else { return "never" }
        return "\(local(unix)) (\(ago(now - unix)))"
    }

    static func local(_ unix: Int) -> String {
        var seconds = time_t(unix)
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `12s ago`, `5m ago`, `3h ago`, `2d ago`; `in the future` for a clock that went back.
    static func ago(_ seconds: Int) -> String {
        switch seconds {
        case ..<0: "in the future"
        case ..<120: "\(seconds)s ago"
        case ..<7200: "\(seconds / 60)m ago"
        case ..<172_800: "\(seconds / 3600)h ago"
        default: "\(seconds / 86400)d ago"
        }
    }
}
