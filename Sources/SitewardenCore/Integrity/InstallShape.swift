import FoundationEssentials
import Glibc

extension Verifier {
    /// What an interrupted or unusual install leaves around the files themselves: `~` residue,
    /// a dist-info whose package directory is gone, and editable installs RECORD cannot vouch for
    /// (`editable`: what `editableInstall` found, asked while RECORD was at hand).
    func inspectInstallShape(
        _ installed: InstalledDistribution?, editable: String?, expectations: Expectations,
        packageDirectories: [String], report: inout VerificationReport
    ) {
        for entry in directoryEntries(expectations.sitePackages) where isResidue(entry, of: packageDirectories) {
            report.installResidue.append(entry)
            report.warn(
                "install residue: \(entry.printable) in site-packages was left by an interrupted install or "
                    + "uninstall (pip moves what it replaces to ~name); Python does not import it; remove it once "
                    + "no installer is running")
        }
        guard let installed else { return }
        for directory in packageDirectories {
            var info = stat()
            if lstat(expectations.sitePackages + "/" + directory, &info) != 0 && errno == ENOENT {
                report.warn(
                    "\(installed.distInfoName) lists files in \(directory.printable)/, which does not exist: "
                        + "an interrupted install or uninstall?")
            }
        }
        if let editable {
            report.notCovered =
                "editable install (\(editable)): its sources live outside site-packages and RECORD says nothing "
                + "about them, so they are not verified and never restored; only the import hook and dist-info are"
        }
    }

    /// `~unely` for `tunely`, `~unely-0.2.3.dist-info` for `tunely-0.2.3.dist-info`: pip renames
    /// what it is replacing by swapping the first character for `~`.
    private func isResidue(_ entry: String, of packageDirectories: [String]) -> Bool {
        guard entry.hasPrefix("~") else { return false }
        let rest = entry.dropFirst()
        if packageDirectories.contains(where: { $0.dropFirst() == rest }) { return true }
        guard rest.hasSuffix(".dist-info") else { return false }
        let stem = rest.dropLast(".dist-info".count)
        let name = stem.lastIndex(of: "-").map { stem[..<$0] } ?? stem
        return InstalledDistribution.normalizeName(String(name))
            == String(InstalledDistribution.normalizeName(distribution).dropFirst())
    }

    /// How the install shows it is editable, or nil: `direct_url.json` says
    /// `"dir_info": {"editable": true}`, or RECORD lists nothing but dist-info, `.pth` files and
    /// `__editable__` finder modules.
    /// `importHooks` is what RECORD's rows showed as they were read; nil reads them from
    /// `installed.record`.
    static func editableInstall(_ installed: InstalledDistribution, importHooks: ImportHookEvidence? = nil) -> String? {
        let directURL = installed.sitePackages + "/" + installed.distInfoName + "/direct_url.json"
        if let bytes = try? FileDescriptor.readRegularFile(directURL, limit: 1 << 20),
            let parsed = try? JSONDecoder().decode(DirectURL.self, from: Data(bytes)),
            parsed.dirInfo?.editable == true
        {
            return "direct_url.json: \((parsed.url ?? "?").printable)"
        }
        var evidence = importHooks ?? ImportHookEvidence(distInfoName: installed.distInfoName)
        if importHooks == nil {
            for entry in installed.record?.entries ?? [] { evidence.note(entry.path) }
        }
        return evidence.onlyImportHooks ? "RECORD lists only import hooks and dist-info" : nil
    }

    /// The part of PEP 610's `direct_url.json` that marks an editable install.
    private struct DirectURL: Decodable {
        struct DirInfo: Decodable {
            var editable: Bool?
        }
        var url: String?
        var dirInfo: DirInfo?

        enum CodingKeys: String, CodingKey {
            case url
            case dirInfo = "dir_info"
        }
    }
}

/// What RECORD's rows say about an editable install: besides the dist-info (and what lies
/// outside site-packages), nothing but `.pth` files and `__editable__` finder modules.
struct ImportHookEvidence {
    let distInfoName: String
    private(set) var hooks = 0
    private(set) var otherFiles = false

    init(distInfoName: String) {
        self.distInfoName = distInfoName
    }

    mutating func note(_ recordPath: String) {
        if recordPath.hasPrefix(distInfoName + "/") || recordPath.hasPrefix("../") { return }
        let name = Paths.lastComponent(of: recordPath)
        if name.hasSuffix(".pth") || name.hasPrefix("__editable__") { hooks += 1 } else { otherFiles = true }
    }

    var onlyImportHooks: Bool { hooks > 0 && !otherFiles }
}
