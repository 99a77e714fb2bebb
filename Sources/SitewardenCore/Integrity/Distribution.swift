import Glibc

/// One installed distribution in a venv: where its dist-info is and what its RECORD says.
public struct InstalledDistribution: Sendable {
    /// The venv root with symlinks resolved.
    public var venvRoot: String
    /// The site-packages directory holding the dist-info, symlinks resolved.
    public var sitePackages: String
    /// The dist-info directory name, e.g. `tunely-0.2.3.dist-info`.
    public var distInfoName: String
    /// The version from the dist-info directory name.
    public var version: String
    /// RECORD's rows, or nil when the dist-info has no RECORD file or it was not parsed
    /// (`recordUnparsed`).
    public var record: Record?
    /// True when RECORD exists and opens but was left for the caller to read row by row
    /// (`locate(…, parsingRecord: false)`): a verification streams a large RECORD instead.
    public var recordUnparsed = false
    /// Other dist-info directories of the same distribution (an interrupted upgrade leaves them).
    public var otherDistInfos: [String] = []
}

/// Why a watched distribution cannot be verified at all.
public enum DistributionError: Error, Sendable, Equatable, CustomStringConvertible {
    case venvUnreadable(SystemError)
    case noSitePackages(venv: String)
    case notInstalled(distribution: String, venv: String)
    case versionNotInstalled(distribution: String, wanted: String, found: [String])
    case ambiguous(distribution: String, versions: [String])
    case recordUnreadable(SystemError)

    public var description: String {
        switch self {
        case .venvUnreadable(let error): "venv unreadable: \(error)"
        case .noSitePackages(let venv): "no lib/python*/site-packages in venv \(venv)"
        case .notInstalled(let name, let venv): "distribution \(name) is not installed in \(venv) (no dist-info)"
        case .versionNotInstalled(let name, let wanted, let found):
            "distribution \(name) \(wanted) is not installed; found \(found.joined(separator: ", "))"
        case .ambiguous(let name, let versions):
            "distribution \(name) has several dist-info directories (\(versions.joined(separator: ", "))); set version"
        case .recordUnreadable(let error): "RECORD unreadable: \(error)"
        }
    }
}

extension InstalledDistribution {
    /// Finds `distribution` (optionally at `version`) in the venv at `venv`.
    ///
    /// Names compare the way packaging normalizes them: case-insensitive, runs of `-`, `_`, `.` equal.
    /// `lib64` is usually a symlink to `lib`; resolving both keeps one canonical site-packages.
    public static func locate(
        distribution: String, version: String?, venv: String, parsingRecord: Bool = true
    ) throws(DistributionError) -> InstalledDistribution {
        let root: String
        do { root = try Paths.realPath(venv) } catch { throw .venvUnreadable(error) }

        var candidates = [(sitePackages: String, name: String, version: String)]()
        let wanted = normalizeName(distribution)
        for sitePackages in sitePackagesDirectories(venvRoot: root) {
            for entry in directoryEntries(sitePackages) where entry.hasSuffix(".dist-info") {
                let stem = entry.dropLast(".dist-info".count)
                guard let dash = stem.lastIndex(of: "-") else { continue }
                guard normalizeName(String(stem[..<dash])) == wanted else { continue }
                candidates.append((sitePackages, entry, String(stem[stem.index(after: dash)...])))
            }
        }
        guard !candidates.isEmpty else { throw .notInstalled(distribution: distribution, venv: venv) }

        let chosen: (sitePackages: String, name: String, version: String)
        if let version {
            guard let match = candidates.first(where: { $0.version == version }) else {
                throw .versionNotInstalled(
                    distribution: distribution, wanted: version, found: candidates.map(\.version))
            }
            chosen = match
        } else {
            guard candidates.count == 1 else {
                throw .ambiguous(distribution: distribution, versions: candidates.map(\.version))
            }
            chosen = candidates[0]
        }

        let recordPath = chosen.sitePackages + "/" + chosen.name + "/RECORD"
        var record: Record?
        var unparsed = false
        do {
            if parsingRecord {
                record = Record(parsing: try readWholeFile(recordPath))
            } else {
                // Opened now, so that an unreadable RECORD fails here as a parsed one would.
                _ = try FileDescriptor.openRegularFile(recordPath)
                unparsed = true
            }
        } catch  where error.code == ENOENT {
            record = nil
        } catch {
            throw .recordUnreadable(error)
        }
        var installed = InstalledDistribution(
            venvRoot: root, sitePackages: chosen.sitePackages, distInfoName: chosen.name, version: chosen.version,
            record: record)
        installed.recordUnparsed = unparsed
        installed.otherDistInfos = candidates.filter { $0.name != chosen.name }.map(\.name)
        return installed
    }

    /// The RECORD file of this dist-info.
    var recordFile: String { sitePackages + "/" + distInfoName + "/RECORD" }

    /// Each of RECORD's rows in order: the parsed ones, or read from the file row by row when it
    /// was left unparsed. Nothing when there is no RECORD.
    func forEachRecordRow(_ body: (Result<RecordEntry, RecordProblem>) -> Void) throws(DistributionError) {
        if let record {
            for entry in record.entries { body(.success(entry)) }
            for problem in record.problems { body(.failure(problem)) }
        } else if recordUnparsed {
            do { try Record.forEachRow(ofFile: recordFile, body) } catch { throw .recordUnreadable(error) }
        }
    }

    /// The total size of the RECORD files of every installed version of `distribution`.
    static func recordSizes(distribution: String, venvRoot: String) -> Int {
        let wanted = normalizeName(distribution)
        var total = 0
        for sitePackages in sitePackagesDirectories(venvRoot: venvRoot) {
            for entry in directoryEntries(sitePackages) where entry.hasSuffix(".dist-info") {
                let stem = entry.dropLast(".dist-info".count)
                guard let dash = stem.lastIndex(of: "-"), normalizeName(String(stem[..<dash])) == wanted else {
                    continue
                }
                var info = stat()
                if stat(sitePackages + "/" + entry + "/RECORD", &info) == 0 { total += Int(info.st_size) }
            }
        }
        return total
    }

    static func normalizeName(_ name: String) -> String {
        var result = ""
        var lastWasSeparator = false
        for character in name.lowercased() {
            if character == "-" || character == "_" || character == "." {
                if !lastWasSeparator { result.append("_") }
                lastWasSeparator = true
            } else {
                result.append(character)
                lastWasSeparator = false
            }
        }
        return result
    }

    static func sitePackagesDirectories(venvRoot: String) -> [String] {
        var found = [String]()
        for lib in ["lib", "lib64"] {
            for entry in directoryEntries(venvRoot + "/" + lib) where entry.hasPrefix("python") {
                let candidate = venvRoot + "/" + lib + "/" + entry + "/site-packages"
                guard let resolved = try? Paths.realPath(candidate), !found.contains(resolved) else { continue }
                found.append(resolved)
            }
        }
        return found.sorted()
    }
}

/// The names in a directory, without `.` and `..`; empty when it cannot be read.
func directoryEntries(_ path: String) -> [String] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var names = [String]()
    while let entry = readdir(directory) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}

/// The names in a directory with their `d_type` (`DT_UNKNOWN` where the filesystem does not
/// say), without `.` and `..`, sorted by name; empty when it cannot be read.
func directoryEntriesWithTypes(_ path: String) -> [(name: String, type: UInt8)] {
    guard let directory = opendir(path) else { return [] }
    defer { closedir(directory) }
    var entries = [(name: String, type: UInt8)]()
    while let entry = readdir(directory) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { entries.append((name, entry.pointee.d_type)) }
    }
    return entries.sorted { $0.name < $1.name }
}

/// Reads a whole metadata file: RECORD, a manifest, a status file. Package files are streamed instead.
/// 64 MiB is far beyond any real RECORD (tunely's is 1.6 KB, numpy's 90 KB).
func readWholeFile(_ path: String) throws(SystemError) -> [UInt8] {
    try FileDescriptor.readRegularFile(path, limit: 64 << 20)
}
