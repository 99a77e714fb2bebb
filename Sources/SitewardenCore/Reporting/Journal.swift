import CSystemd
import Glibc

/// Sends events to the systemd journal as structured entries (`sd_journal_sendv`).
///
/// Every entry carries `MESSAGE`, `MESSAGE_ID`, `PRIORITY`, `SYSLOG_IDENTIFIER=sitewarden` and the
/// event's fields prefixed with `SITEWARDEN_`. Without a journal (no /run/systemd/journal/socket)
/// the entry goes to stderr instead, with its priority as a `<N>` prefix, unless the caller
/// already shows the operator every event itself.
public struct JournalSink: EventSink {
    /// The socket journald listens on; sd_journal_sendv reports success even when it is absent,
    /// so its presence is what decides between the journal and stderr.
    private let journalSocket: String
    private let stderrWithoutJournal: Bool

    public init(journalSocket: String = "/run/systemd/journal/socket", stderrWithoutJournal: Bool = true) {
        self.journalSocket = journalSocket
        self.stderrWithoutJournal = stderrWithoutJournal
    }

    public func emit(_ event: Event) {
        var entries = [
            "MESSAGE=\(event.message)",
            "MESSAGE_ID=\(event.kind.messageID)",
            "PRIORITY=\(event.kind.priority.rawValue)",
            "SYSLOG_IDENTIFIER=sitewarden",
            "SITEWARDEN_EVENT=\(event.kind.rawValue)",
        ]
        for (name, value) in event.fields { entries.append("SITEWARDEN_\(name)=\(value)") }

        if access(journalSocket, W_OK) != 0 || send(entries) != 0, stderrWithoutJournal {
            StandardStreams.writeError("<\(event.kind.priority.rawValue)>\(event.message)\n")
        }
    }

    private func send(_ entries: [String]) -> Int32 {
        let strings = entries.map { strdup($0)! }
        defer { for string in strings { free(string) } }
        var vectors = strings.map { iovec(iov_base: UnsafeMutableRawPointer($0), iov_len: strlen($0)) }
        return sd_journal_sendv(&vectors, Int32(vectors.count))
    }
}
