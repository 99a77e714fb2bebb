extension SitewardenConfig {
    /// The targets a command names, in configuration order; all of them when it names none.
    func targets(named names: [String]) -> [TargetConfig] {
        names.isEmpty ? targets : targets.filter { names.contains($0.name) }
    }
}
