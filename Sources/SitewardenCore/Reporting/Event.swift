/// Every kind of thing sitewarden reports, each with a fixed MESSAGE_ID.
///
/// The ids never change once released: operators filter on them (`journalctl MESSAGE_ID=…`) and
/// deploy/sitewarden.catalog explains each for `journalctl -x`. A test keeps the two in step.
public enum EventKind: String, Sendable, CaseIterable {
    case started = "SITEWARDEN_STARTED"
    case checkCompleted = "SITEWARDEN_CHECK_COMPLETED"
    case driftFound = "SITEWARDEN_DRIFT_FOUND"
    case verificationFailed = "SITEWARDEN_VERIFICATION_FAILED"
    case verificationWarning = "SITEWARDEN_VERIFICATION_WARNING"
    case versionChanged = "SITEWARDEN_VERSION_CHANGED"
    case restoreStarted = "SITEWARDEN_RESTORE_STARTED"
    case restoreDone = "SITEWARDEN_RESTORE_DONE"
    case restoreFailed = "SITEWARDEN_RESTORE_FAILED"
    case backupDamaged = "SITEWARDEN_BACKUP_DAMAGED"
    case unitRestarted = "SITEWARDEN_UNIT_RESTARTED"
    case unitRestartFailed = "SITEWARDEN_UNIT_RESTART_FAILED"
    case probeFailed = "SITEWARDEN_PROBE_FAILED"
    case probeRecovered = "SITEWARDEN_PROBE_RECOVERED"
    case targetRecovered = "SITEWARDEN_TARGET_RECOVERED"
    case configReloaded = "SITEWARDEN_CONFIG_RELOADED"
    case configRejected = "SITEWARDEN_CONFIG_REJECTED"
    case stopping = "SITEWARDEN_STOPPING"
    case startLimitHit = "SITEWARDEN_START_LIMIT_HIT"
    case packageMissing = "SITEWARDEN_PACKAGE_MISSING"
    case watchUnavailable = "SITEWARDEN_WATCH_UNAVAILABLE"
    case flapping = "SITEWARDEN_FLAPPING"
    case repairIneffective = "SITEWARDEN_REPAIR_INEFFECTIVE"
    case restoreDeferred = "SITEWARDEN_RESTORE_DEFERRED"
    case stagedRemoved = "SITEWARDEN_STAGED_REMOVED"
    case metricsUnwritable = "SITEWARDEN_METRICS_UNWRITABLE"
    case probeDNSUnbounded = "SITEWARDEN_PROBE_DNS_UNBOUNDED"

    /// The 128-bit id, as journald prints it.
    public var messageID: String {
        switch self {
        case .started: "2ba3b3c1f30d4c88b953cf9d91b225cd"
        case .checkCompleted: "e86bbd200fce48a39b8572b59dc23093"
        case .driftFound: "d9d21960ed484df9b2138da14f87bbef"
        case .verificationFailed: "dee36bf87f8443d8b837f70fee67961f"
        case .verificationWarning: "37d477e970884f7e8008a4a38d27f62f"
        case .versionChanged: "a96f426a63a74a0f81190bfddc9715cf"
        case .restoreStarted: "2193145bdfea41d1aa1b54608e3239ae"
        case .restoreDone: "0c4ec1943107485a92893e0261b8988f"
        case .restoreFailed: "33a0f0180aa14bd7a094186fe8ae53c9"
        case .backupDamaged: "7714a40d7ed8412c8ec0d6a0784d4550"
        case .unitRestarted: "a6cfc4cbc45b410cb725435641a038b2"
        case .unitRestartFailed: "948366772bc24b09b9d4a75f2fbe4ff7"
        case .probeFailed: "c6c8ab6832584bd6b9eb0113cd5d8425"
        case .probeRecovered: "17ed99a1849e49239cdcba070c4af01b"
        case .targetRecovered: "6b6d745278b74a51835cb76022791e32"
        case .configReloaded: "502e233c8dc74e769fcbe56e8c03c6b3"
        case .configRejected: "497725a13d83408e87564d557a4388dc"
        case .stopping: "8ccd5bd1ef9d4ae19abfec0035708ae6"
        case .startLimitHit: "7e7ea14cb97b43b2b8c58924f1b140f0"
        case .packageMissing: "6210001c845d49129111b1207c050549"
        case .watchUnavailable: "732719ee65e648dbafe633a396cdac9b"
        case .flapping: "0b44b60fab6e434393ff3da5a36c9697"
        case .repairIneffective: "6919aa9698134caa932a827e615a4bf2"
        case .restoreDeferred: "47d49f5b6fb247eaaff66e68544555f1"
        case .stagedRemoved: "2641b3b1ccc5473c89d5544150982a90"
        case .metricsUnwritable: "15ddc25ca7b344b89ac7aabaa2adce98"
        case .probeDNSUnbounded: "92c4da79699b474c866b427c74f676d1"
        }
    }

    /// syslog priority: routine is debug, drift a warning, repairs notices, failures errors,
    /// and a backup that cannot be trusted critical.
    public var priority: Priority {
        switch self {
        case .checkCompleted: .debug
        case .started, .restoreStarted, .configReloaded, .stopping, .restoreDeferred: .info
        case .restoreDone, .unitRestarted, .probeRecovered, .targetRecovered: .notice
        case .driftFound, .probeFailed, .watchUnavailable, .verificationWarning, .versionChanged, .stagedRemoved,
            .metricsUnwritable, .probeDNSUnbounded:
            .warning
        case .verificationFailed, .restoreFailed, .unitRestartFailed, .configRejected, .repairIneffective: .error
        case .backupDamaged, .flapping, .startLimitHit, .packageMissing: .critical
        }
    }
}

/// syslog priorities as journald stores them in `PRIORITY=`.
public enum Priority: Int, Sendable, Comparable {
    case emergency = 0
    case alert, critical, error, warning, notice, info, debug

    public static func < (lhs: Priority, rhs: Priority) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One thing that happened: a fixed kind, a human message, and the data as journal fields.
public struct Event: Sendable, Equatable {
    public var kind: EventKind
    public var message: String
    /// Field names without the `SITEWARDEN_` prefix, e.g. `TARGET`, `FILE`, `EXPECTED_SHA256`.
    public var fields: [(String, String)]

    public init(_ kind: EventKind, _ message: String, _ fields: [(String, String)] = []) {
        self.kind = kind
        self.message = message
        self.fields = fields
    }

    public func field(_ name: String) -> String? { fields.first { $0.0 == name }?.1 }

    public static func == (lhs: Event, rhs: Event) -> Bool {
        lhs.kind == rhs.kind && lhs.message == rhs.message && lhs.fields.elementsEqual(rhs.fields, by: ==)
    }
}

/// Where events go. The daemon writes to the journal; tests record.
public protocol EventSink: Sendable {
    func emit(_ event: Event)
}
