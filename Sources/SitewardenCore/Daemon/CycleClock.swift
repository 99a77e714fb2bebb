import Glibc

/// Monotonic time in nanoseconds, for durations and the watchdog's heartbeat.
enum CycleClock {
    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    static func since(_ start: UInt64) -> Duration {
        .nanoseconds(Int64(now() - start))
    }

    /// Blocks the calling worker thread; used only between re-probes after a restart.
    static func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

extension Duration {
    /// Whole milliseconds, for journal fields.
    var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// Seconds with millisecond precision, as reports print them ("1.234s").
    var secondsText: String {
        let milliseconds = wholeMilliseconds
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)s"
    }
}
