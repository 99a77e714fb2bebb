/// Decides whether a target may be restored now, so a repair can never loop (CASES.md 12).
///
/// Two brakes. Flapping: more than `maxRestores` restores within `window` means something keeps
/// rewriting the files; restores pause for a back-off that doubles with each episode, up to
/// 16 × `window`, and return to `window` once a whole window passes without a restore.
/// Ineffective: a restore whose files verified but whose routes kept failing past the recovery
/// deadline is not repeated for the same damage (the same files with the same bytes); other
/// damage, a healthy cycle, or the operator (`sitewarden restore`, a reload) lifts it.
///
/// Time comes from the monitor's clock (monotonic nanoseconds), so tests move it by hand.
struct RepairGuard {
    enum Decision: Equatable {
        case allowed
        /// Restores are paused; `entered` is true on the cycle the target became flapping.
        case flapping(entered: Bool, restores: Int, pause: Duration)
        /// The same damage was restored before and that did not help; `first` on the first refusal.
        case ineffective(first: Bool)
    }

    let maxRestores: Int
    let window: Duration
    private(set) var restores: [UInt64] = []
    private(set) var pausedUntil: UInt64?
    private var backoff: Duration
    private var lastPause: Duration = .zero
    /// The damage whose restore did not help, as `file|drift|sha256` of the damaged files.
    private(set) var ineffectiveDamage: Set<String>?
    private var ineffectiveRefused = false

    init(maxRestores: Int, window: Duration) {
        self.maxRestores = maxRestores
        self.window = window
        self.backoff = window
    }

    var isFlapping: Bool { pausedUntil != nil }
    var maximumBackoff: Duration { window * 16 }

    /// Whether `damage` may be restored at `now`.
    mutating func admit(_ damage: Set<String>, now: UInt64) -> Decision {
        if let until = pausedUntil {
            if now < until { return .flapping(entered: false, restores: restores.count, pause: lastPause) }
            pausedUntil = nil
            restores.removeAll()
        }
        if let ineffective = ineffectiveDamage {
            if ineffective == damage {
                defer { ineffectiveRefused = true }
                return .ineffective(first: !ineffectiveRefused)
            }
            clearIneffective()
        }
        restores.removeAll { now >= $0 && now - $0 > window.nanoseconds }
        guard restores.count >= maxRestores else { return .allowed }
        lastPause = backoff
        pausedUntil = now + backoff.nanoseconds
        backoff = min(backoff * 2, maximumBackoff)
        return .flapping(entered: true, restores: restores.count, pause: lastPause)
    }

    mutating func noteRestore(now: UInt64) {
        restores.append(now)
    }

    mutating func noteIneffective(_ damage: Set<String>) {
        ineffectiveDamage = damage
        ineffectiveRefused = false
    }

    /// A cycle found the target healthy: an ineffective mark is moot, and after a quiet window
    /// the back-off starts over.
    mutating func noteHealthy(now: UInt64) {
        clearIneffective()
        guard pausedUntil == nil else { return }
        if let last = restores.last, now >= last, now - last < window.nanoseconds { return }
        backoff = window
    }

    private mutating func clearIneffective() {
        ineffectiveDamage = nil
        ineffectiveRefused = false
    }
}

extension Duration {
    var nanoseconds: UInt64 { UInt64(clamping: wholeNanoseconds) }
}
