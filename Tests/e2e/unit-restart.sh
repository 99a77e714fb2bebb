#!/usr/bin/env bash
# Restarts real units under a real systemd 252: boots a throwaway container (lib/container.sh),
# installs the test units and runs UnitControllerSystemdTests inside it, over the system bus and
# systemd's private socket. Prints the Swift Testing output; exits non-zero if a test fails.
#
#   Tests/e2e/unit-restart.sh                 # builds the tests first
#   SKIP_BUILD=1 Tests/e2e/unit-restart.sh    # uses the tests already built
#
# Needs root and systemd-nspawn (it installs what is missing, see lib/container.sh); a host that
# cannot run the container is told and exits 77 (skipped). Nothing is left on the host.
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=Tests/e2e/lib/container.sh
source "$HERE/lib/container.sh"

readonly SUITE=UnitControllerSystemdTests
readonly TESTS=$REPO/.build/debug/sitewardenPackageTests.xctest

skip() {
    echo "SKIPPED unit-restart.sh: $*" >&2
    exit 77
}

fail() {
    echo "unit-restart.sh: $*" >&2
    exit 1
}

# The directory of the Swift runtime the debug test binary links (it is on the binary's
# RUNPATH), so that it can be bound at the same path in the container.
swift_runtime_dir() {
    local core
    core=$(ldd "$TESTS" | awk '/libswiftCore\.so/ { print $3 }')
    [[ -n $core ]] || return 1
    dirname "$core"
}

# install_unit NAME: writes stdin to /etc/systemd/system/NAME in the container.
install_unit() {
    in_container install -D -m 0644 /dev/stdin "/etc/systemd/system/$1"
}

# The units the suite restarts: one that starts, one whose start fails, one whose start outlasts
# the suite's deadline (StartLimitIntervalSec=0: restarted many times in seconds), and one whose
# start limit the suite hits.
install_test_units() {
    install_unit sw-e2e-ok.service <<'UNIT' || return 1
[Unit]
StartLimitIntervalSec=0
[Service]
ExecStart=/bin/sleep infinity
UNIT
    install_unit sw-e2e-fail.service <<'UNIT' || return 1
[Unit]
StartLimitIntervalSec=0
[Service]
Type=oneshot
ExecStart=/bin/false
UNIT
    install_unit sw-e2e-slow.service <<'UNIT' || return 1
[Unit]
StartLimitIntervalSec=0
[Service]
Type=oneshot
ExecStart=/bin/sleep 30
UNIT
    # A start limit that the suite hits on purpose: two starts in a minute, the third refused.
    install_unit sw-e2e-limited.service <<'UNIT' || return 1
[Unit]
StartLimitIntervalSec=60
StartLimitBurst=2
[Service]
ExecStart=/bin/sleep infinity
UNIT
    in_container systemctl daemon-reload
}

main() {
    local reason prepared=true runtime started=$SECONDS booting status=0
    if ((EUID != 0)); then skip "not root: systemd-nspawn needs root"; fi
    container_prepare_host --no-uv || prepared=false
    if reason=$(container_unavailable); then skip "$reason"; fi
    # The host can run containers, so a failed preparation (tools, rootfs) is a failure.
    $prepared || fail "could not prepare the host for the container"

    if [[ -z ${SKIP_BUILD:-} ]]; then
        (cd "$REPO" && swift build --build-tests) || fail "swift build --build-tests failed"
    fi
    [[ -x $TESTS ]] || fail "no test binary at $TESTS"
    runtime=$(swift_runtime_dir) || fail "ldd names no Swift runtime for $TESTS"
    # The test binary runs from the build directory, where it was built.
    container_bind_ro "$runtime" && container_bind_ro "$REPO/.build" || exit 1

    booting=$SECONDS
    container_boot || fail "the container did not boot"
    echo "unit-restart.sh: container booted in $((SECONDS - booting)) s," \
        "system state: $(in_container systemctl is-system-running)"
    install_test_units || fail "could not install the test units"
    in_container env SITEWARDEN_E2E_SYSTEMD=1 \
        "$TESTS" --testing-library swift-testing --filter "$SUITE" || status=$?
    echo "unit-restart.sh: tests exited with $status"

    # Torn down here rather than only by the EXIT trap, so that a leftover fails the run.
    container_shutdown || status=1
    echo "unit-restart.sh: took $((SECONDS - started)) s"
    exit "$status"
}

main "$@"
