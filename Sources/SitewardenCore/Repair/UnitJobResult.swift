/// How systemd says a job ended: the `result` field of its `JobRemoved` signal.
///
/// `done` means the unit started, not that it serves; re-probe it afterwards.
public enum UnitJobResult: String, Sendable {
    case done
    case failed
    case canceled
    case timeout
    case dependency
    case skipped
    case invalid
}
