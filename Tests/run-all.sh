#!/usr/bin/env bash
# Every sitewarden test, on a fresh Debian 12 machine with a Swift 6 toolchain, as root:
#   1. installs what is missing (deploy/setup-dev.sh), including the real tunely 0.2.3 from PyPI;
#   2. unit tests (swift test);
#   3. unit restarts over sd-bus under real systemd 252 in a container (Tests/e2e/unit-restart.sh);
#   4. the incident end to end under real systemd, with the release binary (Tests/e2e/incident.sh),
#      with the root unit, with the root unit stripped of every capability, and with the non-root
#      unit and its polkit rule; then the repair's edge cases (Tests/e2e/repair-edges.sh);
#   5. deploy/install.sh installed, re-run and removed in the container (Tests/e2e/install.sh).
# Prints each suite's own result, then one line "tests: N passed, M failed" over the suites.
# Under CI=true nothing may skip: a suite that cannot run fails.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
passed=0 failed=0 skipped=0

# suite NAME CMD...: runs one suite; exit 77 means it skipped (and said why).
suite() {
    local name=$1 status
    shift
    echo
    echo "=== $name"
    "$@"
    status=$?
    if [ "$status" = 0 ]; then
        passed=$((passed + 1))
    elif [ "$status" = 77 ] && [ "${CI:-}" != true ]; then
        skipped=$((skipped + 1))
        echo "=== $name SKIPPED (see above)"
    else
        failed=$((failed + 1))
        echo "=== $name FAILED (exit $status)"
    fi
}

bash deploy/setup-dev.sh || { echo "tests: setup failed"; exit 1; }
suite "fixture: tunely 0.2.3 from PyPI" bash Tests/fixtures/tunely-venv.sh /var/tmp/sitewarden-fixtures/tunely-0.2.3
suite "swift build" swift build --build-tests
# UnitControllerSystemdTests need systemd as PID 1: they run in the container suite below.
suite "unit tests (swift test)" swift test --skip-build --skip UnitControllerSystemdTests
suite "release build (static Swift runtime)" swift build -c release --static-swift-stdlib
# Exposure ×10: at most 2.0 for the root unit and 1.3 for the non-root one.
suite "unit hardening: systemd-analyze security (root ≤ 2.0, non-root ≤ 1.3)" bash -c \
    'systemd-analyze security --offline=yes --threshold=20 deploy/sitewarden.service >/dev/null &&
     systemd-analyze security --offline=yes --threshold=13 deploy/sitewarden-nonroot.service >/dev/null &&
     systemd-analyze security --offline=yes deploy/sitewarden.service deploy/sitewarden-nonroot.service | grep Overall'

suite "unit restarts under real systemd" env SKIP_BUILD=1 bash Tests/e2e/unit-restart.sh
suite "the incident under real systemd (root unit)" \
    env SITEWARDEN_BIN="$repo/.build/release/sitewarden" bash Tests/e2e/incident.sh
suite "the incident under real systemd (root unit, empty capability bounding set)" \
    env SITEWARDEN_BIN="$repo/.build/release/sitewarden" SITEWARDEN_VARIANT=root-nocaps bash Tests/e2e/incident.sh
suite "the incident under real systemd (non-root unit, polkit)" \
    env SITEWARDEN_BIN="$repo/.build/release/sitewarden" SITEWARDEN_VARIANT=nonroot bash Tests/e2e/incident.sh
suite "repair edge cases under real systemd (reload, failed start, start limit, flapping)" \
    env SITEWARDEN_BIN="$repo/.build/release/sitewarden" bash Tests/e2e/repair-edges.sh
suite "sitewarden as a systemd service (broken reload, exit 78, watchdog, journalctl -x)" \
    env SITEWARDEN_BIN="$repo/.build/release/sitewarden" bash Tests/e2e/systemd-behaviour.sh
suite "deploy/install.sh under real systemd (install, idempotent, uninstall leaves nothing)" \
    env SITEWARDEN_BIN="$repo/.build/release/sitewarden" bash Tests/e2e/install.sh

echo
if [ "$skipped" -gt 0 ]; then
    echo "tests: $passed passed, $failed failed, $skipped skipped"
else
    echo "tests: $passed passed, $failed failed"
fi
[ "$failed" = 0 ]
