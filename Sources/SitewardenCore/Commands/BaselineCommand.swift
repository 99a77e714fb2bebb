/// `sitewarden baseline`: records the known-good copy of each target from what is installed now.
public struct BaselineCommand {
    public var config: SitewardenConfig
    public var targetNames: [String]

    public init(config: SitewardenConfig, targetNames: [String]) {
        self.config = config
        self.targetNames = targetNames
    }

    public func run() -> ExitCode {
        var result = ExitCode.healthy
        for target in config.targets(named: targetNames) {
            let recorder = BaselineRecorder(
                venv: target.venv, distribution: target.distribution, version: target.version,
                backupDirectory: target.backup)
            do {
                let manifest = try recorder.record()
                let bytes = manifest.files.reduce(0) { $0 + $1.size }
                StandardStreams.write(
                    "\(target.name): baseline of \(manifest.distribution) \(manifest.version) recorded in \(target.backup) (\(manifest.files.count) files, \(bytes) bytes)\n"
                )
            } catch {
                StandardStreams.writeError("\(target.name): baseline not recorded: \(error)\n")
                result = .cannotVerify
            }
        }
        return result
    }
}
