import CSystemd
import Glibc

/// Talks to the service manager over `$NOTIFY_SOCKET` (sd_notify).
///
/// Without `NOTIFY_SOCKET` (a one-shot command, a shell) every call is a no-op. The socket
/// variables are not unset here: children are spawned with a cleaned environment instead.
public struct Notifier: Sendable {
    public init() {}

    public func ready(status: String) { send("READY=1\nSTATUS=\(oneLine(status))") }
    public func status(_ text: String) { send("STATUS=\(oneLine(text))") }
    public func watchdog() { send("WATCHDOG=1") }
    /// Tells systemd the daemon is stuck: it applies the watchdog's action at once.
    public func watchdogTrigger() { send("WATCHDOG=trigger") }

    /// Asks systemd for `extra` more time to finish starting (TimeoutStartSec= counts from now).
    public func extendTimeout(by extra: Duration) {
        send(
            "EXTEND_TIMEOUT_USEC=\(extra.components.seconds * 1_000_000 + extra.components.attoseconds / 1_000_000_000_000)"
        )
    }
    public func stopping() { send("STOPPING=1") }

    /// `RELOADING=1` with the monotonic timestamp systemd 253+ wants and 252 ignores.
    public func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        send("RELOADING=1\nMONOTONIC_USEC=\(microseconds)")
    }

    /// The watchdog interval systemd expects pings within, or nil when the watchdog is off
    /// (or meant for another process: `WATCHDOG_PID` is checked by sd_watchdog_enabled).
    public func watchdogTimeout() -> Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(microseconds))
    }

    /// A newline would end STATUS= and start another assignment (`WATCHDOG=trigger`, …).
    private func oneLine(_ text: String) -> String {
        String(text.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
    }

    private func send(_ state: String) {
        _ = sd_notify(0, state)
    }
}
