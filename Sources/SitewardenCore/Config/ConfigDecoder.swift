/// Turns a parsed TOML tree into a `SitewardenConfig`, collecting every problem before it throws.
struct ConfigDecoder {
    private let path: String
    /// The files merged into the document, in order: problems are sorted by file, then position.
    private let files: [String]
    /// Also check that the paths named exist where they must (`sitewarden check-config`).
    private let checkFilesystem: Bool
    private var problems: [ConfigProblem] = []

    private init(path: String, files: [String], checkFilesystem: Bool) {
        self.path = path
        self.files = files
        self.checkFilesystem = checkFilesystem
    }

    /// Decodes a document's root table; `path` names the file in problems and in the result,
    /// `files` are the files merged into it (the main file and its drop-ins).
    static func decode(
        _ root: TOMLNode, path: String, files: [String] = [], checkFilesystem: Bool = false
    ) throws(ConfigError) -> SitewardenConfig {
        var decoder = ConfigDecoder(path: path, files: files.isEmpty ? [path] : files, checkFilesystem: checkFilesystem)
        let config = decoder.config(root)

        guard decoder.problems.isEmpty else {
            throw ConfigError(problems: decoder.problemsInFileOrder())
        }
        return config
    }

    private mutating func config(_ root: TOMLNode) -> SitewardenConfig {
        guard case .table(let entries) = root.value else {
            preconditionFailure("TOMLParser returned a document whose root is not a table")
        }
        var reader = TableReader(
            entries: entries,
            at: root.position,
            location: "the top-level table",
            keyPrefix: "",
            path: path
        )
        let daemon = daemon(reader.node("daemon"))
        let targets = targets(&reader)

        problems += reader.finish()
        return SitewardenConfig(daemon: daemon, targets: targets, sourcePath: path)
    }

    private mutating func daemon(_ node: TOMLNode?) -> DaemonConfig {
        guard let node else {
            return DaemonConfig()
        }
        guard case .table(let entries) = node.value else {
            report("daemon: expected a table, found \(node.value.kindName)", at: node.position)
            return DaemonConfig()
        }
        var reader = TableReader(
            entries: entries, at: node.position, location: "[daemon]", keyPrefix: "daemon.", path: path)
        let daemon = DaemonConfig(
            interval: reader.duration(
                "interval", default: DaemonConfig.defaultInterval, minimum: DaemonConfig.minimumInterval),
            stateDirectory: reader.string("state_directory") { value in
                ConfigRules.absolutePath(value) ?? ConfigRules.directoryIfPresent(value)
            }
                ?? DaemonConfig.defaultStateDirectory,
            quietPeriod: reader.duration("quiet_period", default: DaemonConfig.defaultQuietPeriod),
            readTimeout: reader.duration("read_timeout", default: DaemonConfig.defaultReadTimeout),
            workers: reader.integer(
                "workers", default: DaemonConfig.defaultWorkers, check: ConfigRules.within(DaemonConfig.workersRange)),
            fullRehashEvery: reader.integer(
                "full_rehash_every", default: DaemonConfig.defaultFullRehashEvery,
                check: ConfigRules.within(DaemonConfig.fullRehashEveryRange)),
            quarantineLimit: reader.size("quarantine_limit", default: DaemonConfig.defaultQuarantineLimit),
            metricsFile: reader.string("metrics_file") { [checkFilesystem] value in
                ConfigRules.metricsFile(value) ?? (checkFilesystem ? ConfigRules.parentDirectoryExists(value) : nil)
            }
        )

        problems += reader.finish()
        return daemon
    }

    private mutating func targets(_ root: inout TableReader) -> [TargetConfig] {
        let node = root.node("target")
        if node == nil || node?.value == .array([]) {
            report("no targets: add at least one [[target]] table", at: node?.position)
        }

        var targets: [TargetConfig] = []
        var firstByName: [String: (index: Int, file: String?)] = [:]
        for table in root.tables("target") ?? [] {
            let location = "target[\(table.index)]"
            var reader = TableReader(
                entries: table.entries,
                at: table.position,
                location: location,
                keyPrefix: location + ".",
                path: path
            )
            let target = target(&reader)
            if !target.venv.isEmpty, !target.backup.isEmpty,
                let problem = ConfigRules.separateBackup(target.backup, venv: target.venv)
            {
                reader.report("\(location).backup: \(problem)", at: reader.position(of: "backup"))
            }
            let file = reader.position(of: "name")?.file
            if let first = firstByName[target.name] {
                let elsewhere = first.file != file ? first.file.map { " in \($0)" } ?? "" : ""
                reader.report(
                    "\(location).name: '\(target.name)' is already the name of target[\(first.index)]\(elsewhere)",
                    at: reader.position(of: "name")
                )
            } else if !target.name.isEmpty {
                firstByName[target.name] = (table.index, file)
            }

            problems += reader.finish()
            targets.append(target)
        }
        return targets
    }

    private mutating func target(_ reader: inout TableReader) -> TargetConfig {
        TargetConfig(
            name: reader.requiredString("name", check: ConfigRules.targetName),
            venv: reader.requiredString("venv") { [checkFilesystem] value in
                ConfigRules.absolutePath(value) ?? (checkFilesystem ? ConfigRules.directoryExists(value) : nil)
            },
            distribution: reader.requiredString("distribution", check: ConfigRules.plainText),
            version: reader.string("version", check: ConfigRules.plainText),
            backup: reader.requiredString("backup") { value in
                ConfigRules.absolutePath(value) ?? ConfigRules.directoryIfPresent(value)
            },
            unit: reader.string("unit", check: ConfigRules.serviceUnit),
            routes: routes(&reader),
            pinVersion: reader.boolean("pin_version", default: false),
            modeMask: UInt32(
                reader.integer(
                    "mode_mask", default: Int(VerificationPolicy.defaultModeMask), check: ConfigRules.modeMask)),
            ignore: reader.strings("ignore", check: ConfigRules.plainText),
            mode: repairMode(&reader),
            maxRestores: reader.integer(
                "max_restores", default: TargetConfig.defaultMaxRestores,
                check: ConfigRules.within(TargetConfig.maxRestoresRange)),
            restoreWindow: reader.duration("restore_window", default: TargetConfig.defaultRestoreWindow),
            quarantineExtras: reader.boolean("quarantine_extras", default: false),
            resetStartLimit: reader.boolean("reset_start_limit", default: false),
            startupGrace: reader.node("startup_grace") == nil
                ? .zero : reader.duration("startup_grace", default: .zero)
        )
    }

    private func repairMode(_ reader: inout TableReader) -> RepairMode {
        let text = reader.string("mode", check: ConfigRules.repairMode)
        return text.flatMap(RepairMode.init(rawValue:)) ?? .repair
    }

    private mutating func routes(_ target: inout TableReader) -> [RouteConfig] {
        var routes: [RouteConfig] = []
        for table in target.tables("route") ?? [] {
            let location = "\(target.location).route[\(table.index)]"
            var reader = TableReader(
                entries: table.entries,
                at: table.position,
                location: location,
                keyPrefix: location + ".",
                path: path
            )
            routes.append(route(&reader))

            problems += reader.finish()
        }
        return routes
    }

    private func route(_ reader: inout TableReader) -> RouteConfig {
        let location = reader.location
        let written = reader.requiredString("url", check: ConfigRules.routeURL)
        var url = written
        var unixSocket: String?
        let path = reader.string("path")
        if written.hasPrefix("unix:") {
            let socket = String(written.dropFirst("unix:".count))
            if let problem = ConfigRules.absolutePath(socket) {
                reader.report("\(location).url: the socket path \(problem)", at: reader.position(of: "url"))
            }
            if path == nil {
                reader.report(
                    "\(location): a unix: url needs a 'path' (e.g. path = \"/api/info\")",
                    at: reader.position(of: "url"))
            }
            unixSocket = socket
            url = "http://localhost" + (path ?? "/")
        } else if path != nil {
            reader.report(
                "\(location).path: only for unix: urls; put the path in the url", at: reader.position(of: "path"))
        }
        if let path, !path.hasPrefix("/") || ConfigRules.plainText(path) != nil || path.contains(" ") {
            reader.report(
                "\(location).path: must start with '/' and hold no spaces or control characters",
                at: reader.position(of: "path"))
        }

        let method = reader.string("method", check: ConfigRules.method).flatMap(ProbeMethod.init(rawValue:)) ?? .get
        let body = reader.string("body", check: { _ in nil })
        if body != nil, method != .post {
            reader.report("\(location).body: only a POST sends a body", at: reader.position(of: "body"))
        }
        var bodyChecks: [BodyCheck] = []
        for pattern in reader.stringOrStrings("expect_body_regex") {
            if let problem = BodyCheck.problem(withPattern: pattern) {
                reader.report("\(location).expect_body_regex: \(problem)", at: reader.position(of: "expect_body_regex"))
            }
            bodyChecks.append(.matches(regex: pattern))
        }
        for expression in reader.stringOrStrings("expect_json") {
            do {
                bodyChecks.append(.jsonField(try JSONFieldCheck.parse(expression)))
            } catch {
                reader.report("\(location).expect_json: \(error)", at: reader.position(of: "expect_json"))
            }
        }
        let expectBody = reader.string("expect_body")
        if method == .head, expectBody != nil || !bodyChecks.isEmpty {
            reader.report("\(location).method: a HEAD response has no body to check", at: reader.position(of: "method"))
        }

        return RouteConfig(
            url: url,
            unixSocket: unixSocket,
            method: method,
            body: body,
            headers: reader.headers("headers"),
            expectStatus: reader.statusExpectation("expect_status", default: RouteConfig.defaultExpectStatus),
            expectBody: expectBody,
            bodyChecks: bodyChecks,
            timeout: reader.duration("timeout", default: RouteConfig.defaultTimeout),
            connectTimeout: reader.node("connect_timeout") == nil
                ? nil : reader.duration("connect_timeout", default: RouteConfig.defaultTimeout),
            maxBodyBytes: reader.size("max_response_size", default: ProbeRequest.defaultMaxBodyBytes),
            followRedirects: reader.boolean("follow_redirects", default: false),
            caFile: reader.string("ca_file", check: ConfigRules.absolutePath),
            failureThreshold: reader.integer(
                "failure_threshold", default: 1, check: ConfigRules.within(RouteConfig.thresholdRange)),
            successThreshold: reader.integer(
                "success_threshold", default: 1, check: ConfigRules.within(RouteConfig.thresholdRange))
        )
    }

    private mutating func report(_ message: String, at position: TOMLPosition?) {
        problems.append(ConfigProblem(path: path, position: position, message: message))
    }

    /// Problems sorted by file (in merge order), then position, those without one last; ties keep
    /// the order they were found in.
    private func problemsInFileOrder() -> [ConfigProblem] {
        let infinity = Int.max
        let rank = { (problem: ConfigProblem) in files.firstIndex(of: problem.path) ?? files.count }
        return problems.enumerated()
            .sorted { lhs, rhs in
                let left = (rank(lhs.element), lhs.element.line ?? infinity, lhs.element.column ?? infinity, lhs.offset)
                let right = (
                    rank(rhs.element), rhs.element.line ?? infinity, rhs.element.column ?? infinity, rhs.offset
                )
                return left < right
            }
            .map(\.element)
    }
}
