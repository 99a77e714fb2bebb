import Dispatch
import Glibc

/// A one-line activity indicator on stderr for long commands at a terminal ("⠙ tunely: checking
/// files (4.2 s)"), redrawn ten times a second and erased when the work ends.
///
/// Shown only when stderr is a terminal, so scripts, pipes and the journal never see it, and
/// only after half a second, so quick commands do not flicker. It draws from its own queue:
/// the work it accompanies needs no hooks.
final class ProgressLine: @unchecked Sendable {
    private let queue = DispatchQueue(label: "sitewarden.progress")
    private var timer: DispatchSourceTimer?
    private var drawn = false
    private let enabled: Bool
    private let write: @Sendable (String) -> Void

    init(
        enabled: Bool = TerminalStyle.isTerminal(STDERR_FILENO),
        write: @escaping @Sendable (String) -> Void = StandardStreams.writeError
    ) {
        self.enabled = enabled
        self.write = write
    }

    private static let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

    /// Runs `work` with `label` shown while it lasts.
    func during<T, Failure: Error>(_ label: String, _ work: () throws(Failure) -> T) throws(Failure) -> T {
        start(label)
        defer { stop() }
        return try work()
    }

    private func start(_ label: String) {
        guard enabled else { return }
        let started = CycleClock.now()
        let source = DispatchSource.makeTimerSource(queue: queue)
        var frame = 0
        source.schedule(deadline: .now() + .milliseconds(500), repeating: .milliseconds(100))
        source.setEventHandler { [self] in
            let elapsed = CycleClock.since(started)
            let seconds = "\(elapsed.components.seconds).\(elapsed.wholeMilliseconds % 1000 / 100)"
            write("\r\u{1B}[K\(Self.frames[frame % Self.frames.count]) \(label) (\(seconds) s)")
            frame += 1
            drawn = true
        }
        queue.sync { timer = source }
        source.resume()
    }

    private func stop() {
        guard enabled else { return }
        queue.sync {
            timer?.cancel()
            timer = nil
            if drawn { write("\r\u{1B}[K") }
            drawn = false
        }
    }
}
