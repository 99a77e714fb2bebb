import Foundation

@testable import SitewardenCore

/// The real tunely 0.2.3 server (`tunely serve`) on 127.0.0.1 and a free port, run by the fixture
/// venv's interpreter. With `sitePackages`, that directory comes first on the module path, so the
/// server imports a scratch venv's (possibly damaged) copy of tunely, as a restarted service would.
final class TunelyServer {
    let port: UInt16
    private let sitePackages: String?
    /// Its working directory: `tunely serve` creates ./data for its SQLite database.
    private let work: Scratch
    private var process: Process?

    init(sitePackages: String? = nil) throws {
        _ = try RealTunely.installedVenv()
        self.sitePackages = sitePackages
        work = try Scratch()
        port = try Self.freePort()
        try start()
    }

    deinit { stop() }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Stops the server and starts it again, as `systemctl restart` would; returns once it listens.
    func restart() throws {
        stop()
        try start()
    }

    func stop() {
        guard let process, process.isRunning else { return }
        // The test process's threads block SIGTERM, and a spawned child inherits that mask, so
        // uvicorn would never see a terminate(); SIGKILL cannot be blocked.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    private func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RealTunely.installDirectory + "/bin/python")
        process.arguments = [
            "-c", "import sys; from tunely.cli import main; sys.argv[0] = 'tunely'; sys.exit(main())",
            "serve", "--host", "127.0.0.1", "--port", "\(port)",
        ]
        var environment = ["PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"]
        if let sitePackages { environment["PYTHONPATH"] = sitePackages }
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: work.path)
        let log =
            FileHandle(forWritingAtPath: work.path + "/server.log")
            ?? {
                FileManager.default.createFile(atPath: work.path + "/server.log", contents: nil)
                return FileHandle(forWritingAtPath: work.path + "/server.log")!
            }()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        try waitUntilListening(process)
    }

    private func waitUntilListening(_ process: Process) throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw FixtureError("tunely serve exited: \(log)")
            }
            if Self.accepts(port) { return }
            usleep(100_000)
        }
        throw FixtureError("tunely serve did not listen on 127.0.0.1:\(port) within 30 s: \(log)")
    }

    private var log: String {
        (try? String(contentsOfFile: work.path + "/server.log", encoding: .utf8)) ?? ""
    }

    /// Whether something accepts connections on 127.0.0.1:`port`.
    static func accepts(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// A port nothing listens on right now: bound by the kernel's choice, then released.
    static func freePort() throws -> UInt16 {
        let fd = try LoopbackSocket.open(listening: false)
        defer { close(fd) }
        return try LoopbackSocket.localPort(of: fd)
    }
}
