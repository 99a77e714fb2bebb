/// `sitewarden baseline`: records the known-good copy of each target from what is installed now.
///
/// With `--adopt` it records whichever version is installed even when the configuration expects
/// another: the operator accepts an upgrade, and the new baseline's version becomes the
/// known-good one.
public struct BaselineCommand {
    public var config: SitewardenConfig
    public var targetNames: [String]
    public var adopt: Bool

    public init(config: SitewardenConfig, targetNames: [String], adopt: Bool = false) {
        self.config = config
        self.targetNames = targetNames
        self.adopt = adopt
    }

    public func run() -> ExitCode {
        var result = ExitCode.healthy
        let progress = ProgressLine()
        for target in config.targets(named: targetNames) {
            let recorder = BaselineRecorder(
                venv: target.venv, distribution: target.distribution, version: adopt ? nil : target.version,
                backupDirectory: target.backup)
            do {
                let manifest = try progress.during("\(target.name): recording the baseline") {
                    () throws(BaselineRecorder.Failure) in try recorder.record()
                }
                let bytes = manifest.files.reduce(0) { $0 + $1.size }
                StandardStreams.write(
                    "\(target.name): baseline of \(manifest.distribution) \(manifest.version) recorded in \(target.backup) (\(manifest.files.count) files, \(bytes) bytes)\n"
                )
                if let configured = target.version, configured != manifest.version {
                    StandardStreams.write(
                        "\(target.name): adopted \(manifest.version); set version = \"\(manifest.version)\" in the "
                            + "configuration (it says \(configured))\n")
                }
            } catch {
                StandardStreams.writeError("\(target.name): baseline not recorded: \(error)\n")
                if case .distribution(.versionNotInstalled(_, _, let found)) = error, found.count == 1 {
                    StandardStreams.writeError(
                        "\(target.name): to accept \(found[0]) as the known-good version: sitewarden baseline --adopt\n"
                    )
                }
                result = .cannotVerify
            }
        }
        return result
    }
}
