@testable import SitewardenCore

/// Configurations shared by the config tests; tests assert line numbers, so edit with care.
enum ConfigFixtures {
    static let path = "test.toml"

    /// Every key set, two targets, two routes.
    static let full = """
        [daemon]
        interval = "1m"
        state_directory = "/var/lib/sitewarden-test"

        [[target]]
        name = "tunely"
        venv = "/srv/as-dispatch/venv"
        distribution = "tunely"
        version = "0.2.3"
        backup = "/var/lib/sitewarden/backup/tunely"
        unit = "as-dispatch.service"

        [[target.route]]
        url = "http://127.0.0.1:8083/api/info"
        expect_status = 200
        expect_body = "Tunely Server"
        timeout = "2500ms"

        [[target.route]]
        url = "https://127.0.0.1:8443/health"
        expect_status = 204
        timeout = 3

        [[target]]
        name = "other"
        venv = "/srv/other/venv"
        distribution = "other-dist"
        backup = "/var/lib/sitewarden/backup/other"
        pin_version = true
        mode_mask = 0o7777
        ignore = ["*.log", "other/data/*"]

        """

    /// What `full` decodes to.
    static let fullDecoded = SitewardenConfig(
        daemon: DaemonConfig(interval: .seconds(60), stateDirectory: "/var/lib/sitewarden-test"),
        targets: [
            TargetConfig(
                name: "tunely",
                venv: "/srv/as-dispatch/venv",
                distribution: "tunely",
                version: "0.2.3",
                backup: "/var/lib/sitewarden/backup/tunely",
                unit: "as-dispatch.service",
                routes: [
                    RouteConfig(
                        url: "http://127.0.0.1:8083/api/info",
                        expectStatus: 200,
                        expectBody: "Tunely Server",
                        timeout: .milliseconds(2500)
                    ),
                    RouteConfig(url: "https://127.0.0.1:8443/health", expectStatus: 204, timeout: .seconds(3)),
                ]
            ),
            TargetConfig(
                name: "other",
                venv: "/srv/other/venv",
                distribution: "other-dist",
                backup: "/var/lib/sitewarden/backup/other",
                pinVersion: true,
                modeMask: 0o7777,
                ignore: ["*.log", "other/data/*"]
            ),
        ],
        sourcePath: path
    )

    /// The problems `text` is refused with, or none when it loads.
    static func problems(in text: String) -> [ConfigProblem] {
        do {
            _ = try ConfigLoader.parse(text: text, path: path)
            return []
        } catch {
            return error.problems
        }
    }

    /// A problem in `test.toml`.
    static func problem(_ line: Int?, _ column: Int?, _ message: String) -> ConfigProblem {
        ConfigProblem(path: path, line: line, column: column, message: message)
    }
}
