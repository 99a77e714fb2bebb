import Foundation
import Testing

@testable import SitewardenCore

/// TLS stays verified: a private CA is trusted only when the route names its file, and nothing
/// else (the system's CAs, the environment) makes an unknown certificate acceptable.
@Suite("Probes over TLS with a private CA", .serialized)
struct ProbeTLSTests {
    /// A CA and a certificate for localhost/127.0.0.1 it signed, made with openssl.
    private func makeCertificates(in directory: String) throws {
        let steps: [[String]] = [
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                "/CN=sitewarden-test-CA",
                "-keyout", "ca.key", "-out", "ca.pem",
            ],
            [
                "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
                "-out", "server.csr",
            ],
        ]
        for step in steps { try Shell.check(["sh", "-c", "cd '\(directory)' && " + step.joined(separator: " ")]) }
        try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(
            toFile: directory + "/san.ext", atomically: true, encoding: .utf8)
        try Shell.check([
            "sh", "-c",
            "cd '\(directory)' && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
                + "-days 2 -extfile san.ext -out server.pem",
        ])
    }

    /// Python's standard library serving `Tunely Server` over TLS on a free port.
    private func startServer(in directory: String, port: UInt16) throws -> Process {
        let script = """
            import http.server, ssl
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    body = b'{"name": "Tunely Server"}'
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *args):
                    pass
            server = http.server.HTTPServer(("127.0.0.1", \(port)), Handler)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain("server.pem", "server.key")
            server.socket = context.wrap_socket(server.socket, server_side=True)
            server.serve_forever()
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RealTunely.installDirectory + "/bin/python")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Certificates in `directory` and the TLS server on a free port, answering once this returns
    /// (or after 15 s); the caller stops it.
    private func startTLSServer(in directory: String) throws -> (server: Process, port: UInt16) {
        try makeCertificates(in: directory)
        let port = try TunelyServer.freePort()
        let server = try startServer(in: directory, port: port)
        let deadline = ContinuousClock.now + .seconds(15)
        while !TunelyServer.accepts(port), ContinuousClock.now < deadline { usleep(100_000) }
        return (server, port)
    }

    @Test func aPrivateCAIsTrustedOnlyWhenTheRouteNamesItsFile() throws {
        _ = try RealTunely.installedVenv()
        let scratch = try Scratch()
        let (server, port) = try startTLSServer(in: scratch.path)
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        var trusted = ProbeRequest(
            url: "https://localhost:\(port)/api/info", expectBody: "Tunely Server", timeout: .seconds(5),
            caFile: scratch.path + "/ca.pem")
        let result = HTTPProbe().run(trusted)
        var untrusted = trusted
        untrusted.caFile = nil
        var otherCA = trusted
        otherCA.caFile = "/etc/ssl/certs/ca-certificates.crt"
        trusted.url = "https://127.0.0.1:\(port)/api/info"

        let byAddress = HTTPProbe().run(trusted)
        let withSystemCAs = HTTPProbe().run(untrusted)
        let withPublicCAsOnly = HTTPProbe().run(otherCA)

        #expect(result.verdict == .passed, "\(result.summary)")
        #expect(byAddress.verdict == .passed, "\(byAddress.summary)")
        for refused in [withSystemCAs, withPublicCAsOnly] {
            #expect(refused.verdict.name == "connection-failed")
            #expect(refused.summary.contains("certificate"), "\(refused.summary)")
        }
    }

    @Test func certificateVariablesInTheEnvironmentDoNotMakeAnUnknownCATrusted() throws {
        let scratch = try RealTunely.scratchVenv()
        _ = try scratch.recorder().record()
        let (server, port) = try startTLSServer(in: scratch.path)
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let config = try scratch.writeConfig(
            target: "[[target.route]]\nurl = \"https://localhost:\(port)/api/info\"\nexpect_body = \"Tunely Server\"")
        let ca = scratch.path + "/ca.pem"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: DaemonNotifyTests.binary)
        process.arguments = ["--config", config, "check"]
        process.environment = [
            "PATH": "/usr/bin:/bin", "SSL_CERT_FILE": ca, "SSL_CERT_DIR": scratch.path, "CURL_CA_BUNDLE": ca,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice

        try process.run()
        process.waitUntilExit()

        #expect(process.terminationStatus == ExitCode.probeFailure.rawValue)
    }
}
