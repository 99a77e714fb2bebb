/// One route's standing across cycles, judged like Kubernetes and monit probes: failing after
/// `failureThreshold` consecutive failures, passing again after `successThreshold` successes.
///
/// A failure inside the start-up grace period does not count: a service that has just been
/// (re)started may not serve yet.
struct RouteState: Sendable, Equatable {
    enum Standing: String, Sendable {
        /// No verdict yet: not probed, or failing fewer times in a row than the threshold.
        case pending
        case passing
        case failing
    }

    /// A change worth one journal entry.
    enum Transition: Sendable, Equatable {
        case failed
        case recovered
    }

    private(set) var standing = Standing.pending
    private(set) var consecutiveFailures = 0
    private(set) var consecutiveSuccesses = 0
    private(set) var last: ProbeResult?

    /// Applies one result; returns the transition to report, if any.
    mutating func record(
        _ result: ProbeResult, failureThreshold: Int, successThreshold: Int, inGrace: Bool
    ) -> Transition? {
        last = result
        if result.passed {
            consecutiveFailures = 0
            consecutiveSuccesses += 1
            switch standing {
            case .failing where consecutiveSuccesses >= successThreshold:
                standing = .passing
                return .recovered
            case .pending:
                standing = .passing
                return nil
            default:
                return nil
            }
        }
        consecutiveSuccesses = 0
        // A route already failing stays failing through a restart; only new failures are forgiven.
        if inGrace && standing != .failing { return nil }
        consecutiveFailures += 1
        guard standing != .failing, consecutiveFailures >= failureThreshold else { return nil }
        standing = .failing
        return .failed
    }

    /// This failure begins a failure episode: the moment to look at the files in full.
    var justStartedFailing: Bool { consecutiveFailures == 1 }
}
