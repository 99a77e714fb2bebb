import Synchronization

/// Proof that the cycle is making progress, read by the watchdog timer.
///
/// The cycle beats after every step (a file tree hashed, a probe answered, a restart done).
/// The watchdog pings systemd only while the cycle is idle or has beaten recently, so a cycle
/// stuck in a read or a call stops the pings and systemd restarts the daemon.
final class Heartbeat: Sendable {
    private let lastBeat = Atomic<UInt64>(CycleClock.now())
    private let busy = Atomic<Bool>(false)

    func beat() {
        lastBeat.store(CycleClock.now(), ordering: .releasing)
    }

    func cycleStarted() {
        beat()
        busy.store(true, ordering: .releasing)
    }

    func cycleEnded() {
        busy.store(false, ordering: .releasing)
        beat()
    }

    /// True when the daemon may tell systemd it is alive.
    func isAlive(within limit: Duration) -> Bool {
        guard busy.load(ordering: .acquiring) else { return true }
        let elapsed = CycleClock.now() - lastBeat.load(ordering: .acquiring)
        return Duration.nanoseconds(Int64(elapsed)) < limit
    }
}
