#!/usr/bin/env bash
# Restarts real units under a real systemd 252: boots a throwaway container (the host's /usr on a
# volatile root) and runs UnitControllerSystemdTests inside it. Needs root and systemd-nspawn;
# without them it says so and exits 77 (skipped). The host's /run and cgroups are left as found.
#
#   Tests/e2e/unit-restart.sh          # builds the tests first
#   SKIP_BUILD=1 Tests/e2e/unit-restart.sh
set -euo pipefail

skip() {
    echo "SKIPPED unit-restart.sh: $*" >&2
    exit 77
}

[ "$(id -u)" = 0 ] || skip "needs root to boot a container with systemd-nspawn"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is missing (apt-get install systemd-container)"
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 is missing (it listens for the container's READY=1)"

root=$(cd "$(dirname "$0")/../.." && pwd)
[ -n "${SKIP_BUILD:-}" ] || (cd "$root" && swift build --build-tests)
tests="$root/.build/debug/sitewardenPackageTests.xctest"
[ -x "$tests" ] || { echo "unit-restart.sh: no test binary at $tests" >&2; exit 1; }

# The test binary finds the Swift runtime through its rpath; that path must exist in the container.
runtime=$(ldd "$tests" | awk '/libswiftCore\.so/ { print $3 }')
toolchain=${runtime%/usr/lib/swift/linux/libswiftCore.so}
if [ -z "$toolchain" ] || [ "$toolchain" = "$runtime" ]; then
    echo "unit-restart.sh: no Swift runtime found for $tests" >&2
    exit 1
fi

scratch=$(mktemp -d /tmp/sitewarden-e2e.XXXXXX)
cgroup="sitewarden-e2e-$$"
# shellcheck disable=SC2317  # called through the trap
cleanup() {
    # nspawn leaves empty payload/init.scope, payload and supervisor cgroups; remove innermost first.
    for hierarchy in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
        [ -d "$hierarchy/$cgroup" ] || continue
        find "$hierarchy/$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null ||
            echo "unit-restart.sh: could not remove $hierarchy/$cgroup (still in use?)" >&2
    done
    rm -rf "$scratch"
}
trap cleanup EXIT

mkdir "$scratch/units"
# StartLimitIntervalSec=0: the tests restart the same units many times within seconds.
cat >"$scratch/units/sw-e2e-ok.service" <<'UNIT'
[Unit]
StartLimitIntervalSec=0
[Service]
ExecStart=/bin/sleep infinity
UNIT
cat >"$scratch/units/sw-e2e-fail.service" <<'UNIT'
[Unit]
StartLimitIntervalSec=0
[Service]
Type=oneshot
ExecStart=/bin/false
UNIT
cat >"$scratch/units/sw-e2e-slow.service" <<'UNIT'
[Unit]
StartLimitIntervalSec=0
[Service]
Type=oneshot
ExecStart=/bin/sleep 30
UNIT

cat >"$scratch/ready.py" <<'PY'
# Prints the container's leader PID once nspawn reports READY=1 (the two may come in separate datagrams).
import socket, sys
listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
listener.bind(sys.argv[1])
listener.settimeout(float(sys.argv[2]))
fields = {}
while not (fields.get("READY") == "1" and "X_NSPAWN_LEADER_PID" in fields):
    datagram = listener.recv(4096).decode(errors="replace")
    fields.update(line.split("=", 1) for line in datagram.split("\n") if "=" in line)
print(fields["X_NSPAWN_LEADER_PID"])
PY

# Own cgroups, so that nspawn's payload/supervisor groups cannot collide with anyone else's container.
# Checked on the cgroup v1/v2 hybrid layout of these machines (systemd + unified hierarchies).
for hierarchy in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
    [ -d "$hierarchy" ] || continue
    mkdir "$hierarchy/$cgroup"
done

# Runs in a private mount namespace and in the cgroups made above, with the container inside.
cat >"$scratch/inside.sh" <<'INSIDE'
set -euo pipefail
for hierarchy in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
    if [ -d "$hierarchy/$cgroup" ]; then echo $$ >"$hierarchy/$cgroup/cgroup.procs"; fi
done
# A private /run: the container must not see or touch the host's sockets.
mount -n -t tmpfs -o mode=755 tmpfs /run

/usr/bin/python3 "$scratch/ready.py" "$scratch/notify.sock" 30 >"$scratch/leader" &
listener=$!
for _ in $(seq 50); do [ -S "$scratch/notify.sock" ] && break; sleep 0.1; done

NOTIFY_SOCKET="$scratch/notify.sock" systemd-nspawn --quiet --register=no --keep-unit --boot \
    --console=passive --notify-ready=yes -D / --volatile=yes \
    --bind-ro="$toolchain" --bind-ro="$root/.build" --bind-ro="$scratch/units:/etc/systemd/system" \
    systemd.firstboot=off >"$scratch/nspawn.log" 2>&1 &
container=$!
# SIGTERM asks nspawn for an orderly poweroff (~1 s); after 20 s it is killed.
stop_container() {
    kill -TERM $container 2>/dev/null || return 0
    for _ in $(seq 200); do kill -0 $container 2>/dev/null || break; sleep 0.1; done
    kill -KILL $container 2>/dev/null || true
    wait $container || true
}
trap stop_container EXIT

wait $listener || { echo "unit-restart.sh: the container never reported READY=1:" >&2; cat "$scratch/nspawn.log" >&2; exit 1; }
leader=$(cat "$scratch/leader")

state=$(timeout 60 nsenter -t "$leader" -a env -i PATH=/usr/bin:/bin systemctl is-system-running --wait || true)
echo "unit-restart.sh: container booted, system state: $state"
timeout 300 nsenter -t "$leader" -a env -i PATH=/usr/bin:/bin SITEWARDEN_E2E_SYSTEMD=1 \
    "$tests" --testing-library swift-testing --filter UnitControllerSystemdTests
INSIDE

export scratch tests toolchain root cgroup
set +e
unshare --mount --propagation private bash "$scratch/inside.sh"
status=$?
set -e
echo "unit-restart.sh: tests exited with $status"
exit $status
