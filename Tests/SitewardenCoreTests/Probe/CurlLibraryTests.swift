import Testing

@testable import SitewardenCore

/// libcurl is loaded when the first probe needs it, not linked: what the loader says when the
/// library is missing or is not libcurl, and that the installed one has every function used.
@Suite struct CurlLibraryTests {
    @Test func theInstalledLibcurlHasEveryFunctionSitewardenCalls() {
        #expect(CurlLibrary.problem(loading: CurlLibrary.soname) == nil)
        #expect(CurlLibrary.isUsable)
    }

    @Test func aMissingLibraryIsNamedWithTheLoadersReason() {
        let problem = CurlLibrary.problem(loading: "libsitewarden-absent.so.4")

        #expect(problem == "libsitewarden-absent.so.4: cannot open shared object file: No such file or directory")
    }

    @Test func aLibraryThatIsNotLibcurlIsNamedWithTheFirstFunctionItLacks() {
        #expect(
            CurlLibrary.problem(loading: "libz.so.1")
                == "libz.so.1 has no curl_global_init (libcurl 7.73 or later is needed)")
    }

    @Test func aProbeThatCannotLoadLibcurlSaysWhichLibraryAndWhy() {
        let reason = "libcurl.so.4: cannot open shared object file: No such file or directory"
        let error = CurlSetupError(unloadable: reason)

        #expect(error.description == "dlopen(libcurl.so.4): " + reason)
    }

    /// libcurl is loaded only by the first probe, so `check-config` tries it when routes need it.
    @Test func checkConfigWarnsWhenRoutesAreConfiguredButLibcurlCannotBeLoaded() {
        func config(routes: [RouteConfig]) -> SitewardenConfig {
            SitewardenConfig(
                targets: [
                    TargetConfig(
                        name: "tunely", venv: "/srv/venv", distribution: "tunely", backup: "/backup/tunely",
                        routes: routes)
                ], sourcePath: "/etc/sitewarden/config.toml")
        }
        let routed = config(routes: [RouteConfig(url: "http://127.0.0.1:8083/api/info")])
        func warnings(_ lines: [String]) -> [String] { lines.filter { $0.hasPrefix("  warning:") } }

        let missing = warnings(CheckConfigCommand.summary(routed, files: [], libcurl: "libsitewarden-absent.so.4"))
        let present = warnings(CheckConfigCommand.summary(routed, files: []))
        let unneeded = warnings(
            CheckConfigCommand.summary(config(routes: []), files: [], libcurl: "libsitewarden-absent.so.4"))

        #expect(
            missing == [
                "  warning: routes are configured, but libsitewarden-absent.so.4 cannot be loaded "
                    + "(libsitewarden-absent.so.4: cannot open shared object file: No such file or directory): "
                    + "every probe fails until it can (install libcurl4)"
            ])
        #expect(present.isEmpty && unneeded.isEmpty)
    }

    /// A daemon started before libcurl4 was installed probes once it is: a failed set-up is tried
    /// again by the next probe, a successful one never.
    @Test func aFailedSetUpIsTriedAgainAndASuccessfulOneIsKept() {
        var state = CurlLibrary.SetupState()
        var attempts = 0
        let missing = CurlSetupError(unloadable: "libcurl.so.4: cannot open shared object file")
        func attempt(failing: Bool) -> CurlSetupError? {
            state.attempt {
                attempts += 1
                return failing ? missing : nil
            }
        }

        let first = attempt(failing: true)
        let second = attempt(failing: true)
        let third = attempt(failing: false)
        let fourth = attempt(failing: true)

        #expect(first?.description == missing.description && second?.description == missing.description)
        #expect(third == nil && fourth == nil)
        #expect(attempts == 3 && state.ready)
    }
}
