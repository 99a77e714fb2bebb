#!/usr/bin/env bash
# Idle footprint of the daemon (issue 6): CPU used between cycles, and RSS over 1,000 cycles.
# Runs `sitewarden run` outside systemd (no NOTIFY_SOCKET) on a copy of the real tunely install.
#
#   bash bench/idle-bench.sh          prints the measurements; nothing is asserted
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$repo/.build/release/sitewarden
[ -x "$bin" ] || (cd "$repo" && swift build -c release --static-swift-stdlib >/dev/null)
venv=$(bash "$repo/Tests/fixtures/tunely-venv.sh" /var/tmp/sitewarden-fixtures/tunely-0.2.3)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
cp -a "$venv" "$work/venv"

config() {
    cat <<TOML
[daemon]
interval = "$1"
state_directory = "$work/state"
[[target]]
name = "tunely"
venv = "$work/venv"
distribution = "tunely"
version = "0.2.3"
backup = "$work/backup"
TOML
}

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

config 30s >"$work/idle.toml"
"$bin" --config "$work/idle.toml" baseline >/dev/null
"$bin" --config "$work/idle.toml" run 2>/dev/null &
pid=$!
sleep 3
before=$(ticks "$pid")
sleep 60
after=$(ticks "$pid")
echo "idle, interval 30s: $((after - before)) clock ticks of CPU in 60 s ($(getconf CLK_TCK) ticks/s), RSS $(rss_kib "$pid") KiB"
kill "$pid"; wait "$pid" 2>/dev/null || true

config 10ms >"$work/busy.toml"
"$bin" --config "$work/busy.toml" run 2>/dev/null &
pid=$!
# The status file counts the cycles run.
cycles() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cycles"])' "$work/state/status.json" 2>/dev/null ||
        echo 0
}
rss_at() {
    until [ "$(cycles)" -ge "$1" ]; do sleep 0.05; done
    echo "$(rss_kib "$pid")"
}
rss_100=$(rss_at 100)
rss_1000=$(rss_at 1000)
echo "interval 10ms: RSS $rss_100 KiB after 100 cycles, $rss_1000 KiB after 1,000 cycles"
