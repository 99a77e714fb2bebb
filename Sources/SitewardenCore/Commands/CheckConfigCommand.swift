import Glibc

/// `sitewarden check-config`: loads the configuration and its drop-ins as the daemon would, and
/// also checks the filesystem paths it names, without writing anything anywhere.
public struct CheckConfigCommand {
    public var path: String

    public init(path: String) {
        self.path = path
    }

    public func run() -> ExitCode {
        let config: SitewardenConfig
        let files: [String]
        do {
            files = try ConfigLoader.files(path: path)
            config = try ConfigLoader.load(path: path, checkFilesystem: true)
        } catch {
            let count = error.problems.count
            StandardStreams.writeError("\(error)\nsitewarden: \(count) problem(s); the configuration is not valid\n")
            return .config
        }
        StandardStreams.write(Self.summary(config, files: files).joined(separator: "\n") + "\n")
        return .healthy
    }

    /// What was read and what it watches, and what is not wrong but worth knowing. `libcurl` is
    /// the library probes load (`CurlLibrary.soname`), tried only when a route is configured.
    static func summary(_ config: SitewardenConfig, files: [String], libcurl: String = CurlLibrary.soname) -> [String] {
        var lines = ["\(config.sourcePath): valid (\(files.count) file(s): \(files.joined(separator: ", ")))"]
        for target in config.targets {
            let routes = target.routes.count == 1 ? "1 route" : "\(target.routes.count) routes"
            let unit = target.unit.map { ", restarts \($0)" } ?? ", restarts nothing"
            lines.append(
                "  \(target.name): \(target.distribution) \(target.version ?? "(any version)") in \(target.venv)"
                    + "\(unit), \(routes), mode \(target.mode.rawValue)")
            var info = stat()
            if stat(target.backup + "/" + BaselineManifest.fileName, &info) != 0 {
                lines.append("    note: no baseline in \(target.backup) yet: run sitewarden baseline \(target.name)")
            }
        }
        if let metrics = config.daemon.metricsFile { lines.append("  metrics: \(metrics) after every cycle") }
        // libcurl is loaded by the first probe, not at start: a missing one would show only then.
        if config.targets.contains(where: { !$0.routes.isEmpty }),
            let problem = CurlLibrary.problem(loading: libcurl)
        {
            lines.append(
                "  warning: routes are configured, but \(libcurl) cannot be loaded (\(problem)): every probe fails "
                    + "until it can (install libcurl4)")
        }
        return lines
    }
}
