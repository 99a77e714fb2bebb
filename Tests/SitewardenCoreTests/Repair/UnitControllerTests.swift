import Glibc
import Testing

@testable import SitewardenCore

/// What `UnitController` does when systemd is out of reach; restarts under a real systemd are
/// covered by `Tests/e2e/unit-restart.sh`.
@Suite struct UnitControllerTests {
    @Test func connectingToAMissingSocketNamesTheStepAddressAndCause() {
        let address = "unix:path=/nonexistent/sitewarden-test/private"

        let error = #expect(throws: UnitControlError.self) { try UnitController(address: address) }

        #expect(error?.step == .connect(address: address))
        #expect(error?.cause == .errno(ENOENT))
        #expect(error?.unit == nil)
        #expect(
            error?.description
                == "could not connect to systemd: connect to \(address): No such file or directory (errno 2)"
        )
    }

    @Test func connectingToAnUnparsableAddressFailsWithoutCrashing() {
        let error = #expect(throws: UnitControlError.self) { try UnitController(address: "no-such-transport:x=y") }

        #expect(error?.step == .connect(address: "no-such-transport:x=y"))
    }

    @Test func errorsNameUnitStepAndBusError() {
        let error = UnitControlError(
            unit: "as-dispatch.service",
            step: .restartUnit,
            cause: .busError(
                name: "org.freedesktop.systemd1.NoSuchUnit", message: "Unit as-dispatch.service not found.")
        )

        #expect(
            error.description
                == "could not restart as-dispatch.service: RestartUnit: org.freedesktop.systemd1.NoSuchUnit: "
                + "Unit as-dispatch.service not found."
        )
    }

    @Test func timeoutErrorsNameTheJobAndTheBudget() {
        let error = UnitControlError(
            unit: "as-dispatch.service",
            step: .waitForJob(path: "/org/freedesktop/systemd1/job/42"),
            cause: .deadlinePassed(.milliseconds(1500))
        )

        #expect(
            error.description
                == "could not restart as-dispatch.service: wait for job /org/freedesktop/systemd1/job/42: "
                + "no answer within 1.5 seconds"
        )
    }
}
