#!/usr/bin/env bash
# sitewarden as a systemd service under real systemd 252, after the incident's set-up (steps a–c
# of incident.sh): a reload with a broken configuration is rejected and the old one stays; a
# configuration that does not load at start exits 78 and is not restarted in a loop; a wedged
# check cycle stops the watchdog pings and systemd restarts the daemon; `journalctl -x` shows
# the catalog text; a conf.d drop-in sets metrics_file, which the hardened unit refuses until a
# unit drop-in adds ReadWritePaths=, and `sitewarden status` reads what the running unit saw.
#
#   SITEWARDEN_BIN=/path/to/sitewarden bash Tests/e2e/systemd-behaviour.sh
# Output and exit status as incident.sh: `ok`/`not ok` lines, then `e2e: N passed, M failed`.
# shellcheck disable=SC2317 # the predicates below are called through check and require
set -u -o pipefail

# shellcheck source=Tests/e2e/incident.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/incident.sh"

readonly DROPIN=/etc/systemd/system/sitewarden.service.d/behaviour.conf

# sitewarden_dropin TEXT: replaces this scenario's drop-in of sitewarden.service (empty: removes it).
sitewarden_dropin() {
    if [[ -z $1 ]]; then
        in_container rm -f "$DROPIN"
    else
        printf '%b' "$1" | in_container install -D -m 0644 /dev/stdin "$DROPIN"
    fi && in_container systemctl daemon-reload
}

# wait_until SECONDS CMD...: polls CMD every 0.2 s.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

unit_is() { [[ $(unit_property sitewarden "$1") == "$2" ]]; }

start_fails() { ! in_container systemctl start sitewarden; }

step_k_broken_reload() {
    step "k: systemctl reload with a broken configuration: rejected, the old one stays in force"
    in_container cp "$CONFIG" "$CONFIG.good"
    printf '[daemon]\nintervall = "2s"\n' | in_container install -m 0644 /dev/stdin "$CONFIG"
    damaged_at=$(now_ms)
    check "systemctl reload sitewarden returns (READY=1 after the rejection)" in_container systemctl reload sitewarden
    check "journal: new configuration rejected" \
        journal_has SITEWARDEN_CONFIG_REJECTED
    check "sitewarden is still active" unit_is ActiveState active
    check "the old configuration still checks the target (STATUS=)" sitewarden_status_mentions tunely
    in_container mv "$CONFIG.good" "$CONFIG"
    check "journalctl -x explains the rejection from the catalog" catalog_text_shown
}

sitewarden_status_mentions() {
    in_container systemctl show --property=StatusText --value sitewarden | grep -q "$1"
}

catalog_text_shown() {
    in_container journalctl -x -u sitewarden --no-pager | grep -q "The previous configuration stays in force"
}

step_l_bad_config_at_start() {
    step "l: a configuration that does not load at start: exit 78, no restart loop"
    in_container systemctl stop sitewarden
    in_container cp "$CONFIG" "$CONFIG.good"
    printf 'not toml at all = = =\n' | in_container install -m 0644 /dev/stdin "$CONFIG"
    check "systemctl start sitewarden fails" start_fails
    check "the unit is failed with exit status 78" wait_until 10 unit_is ExecMainStatus 78
    sleep 6
    check "and not restarted (NRestarts=0 after 6 s, RestartPreventExitStatus=78)" unit_is NRestarts 0
    in_container mv "$CONFIG.good" "$CONFIG"
    in_container systemctl reset-failed sitewarden
    require "sitewarden starts again with the good configuration" in_container systemctl start sitewarden
}

step_m_watchdog() {
    step "m: a wedged check cycle: the watchdog pings stop and systemd restarts sitewarden"
    require "WatchdogSec=3s and a cycle that hangs after the first (test hook, drop-in)" sitewarden_dropin \
        '[Service]\nWatchdogSec=3s\nEnvironment=SITEWARDEN_TEST_HANG_AFTER_CYCLES=1\n'
    require "systemctl restart sitewarden" in_container systemctl restart sitewarden
    check "systemd restarts sitewarden for its watchdog (Result=watchdog, NRestarts ≥ 1)" \
        wait_until 30 watchdog_restarted
    require "remove the hook" sitewarden_dropin ''
    require "systemctl restart sitewarden" in_container systemctl restart sitewarden
    check "sitewarden is active again" unit_is ActiveState active
}

watchdog_restarted() {
    [[ $(unit_property sitewarden NRestarts) -ge 1 ]] &&
        in_container journalctl -u sitewarden --no-pager | grep -Eq "Watchdog (timeout|request)"
}

readonly METRICS_DIR=/var/lib/prometheus/node-exporter
readonly METRICS=$METRICS_DIR/sitewarden.prom

metrics_say_tunely_is_up() {
    in_container grep -qx 'sitewarden_target_up{target="tunely"} 1' "$METRICS"
}

status_shows_tunely_healthy() {
    in_container sitewarden --config "$CONFIG" status >"$work_status" && grep -q '^tunely  healthy ' "$work_status"
}

status_json_is_healthy() {
    in_container sitewarden --config "$CONFIG" status --json | python3 -c '
import json, sys
document = json.load(sys.stdin)
target = document["targets"][0]
sys.exit(None if document["exit_code"] == 0 and target["state"] == "healthy" and target["files_checked"] > 0
         else "#   %r" % document)'
}

status_refused_for_nobody() {
    local rc=0
    in_container setpriv --reuid=65534 --regid=65534 --clear-groups sitewarden --config "$CONFIG" status \
        >/dev/null 2>&1 || rc=$?
    [[ $rc == 3 ]] || { echo "#   exit $rc"; return 1; }
}

check_config_in_the_units_journal() {
    in_container journalctl -u sitewarden --no-pager | grep -q "valid (2 file(s): $CONFIG, /etc/sitewarden/conf.d/90-metrics.toml)"
}

step_n_metrics_and_status() {
    step "n: metrics_file from a conf.d drop-in: refused by ProtectSystem=strict until ReadWritePaths=; status"
    in_container mkdir -p "$METRICS_DIR"
    printf '[daemon]\nmetrics_file = "%s"\n' "$METRICS" |
        in_container install -D -m 0644 /dev/stdin /etc/sitewarden/conf.d/90-metrics.toml
    damaged_at=$(now_ms)
    require "systemctl restart sitewarden" in_container systemctl restart sitewarden
    check "journal: the metrics file is unwritable (SITEWARDEN_METRICS_UNWRITABLE)" journal_has SITEWARDEN_METRICS_UNWRITABLE
    check "the unit's journal has check-config's verdict from ExecStartPre=" check_config_in_the_units_journal
    require "drop-in: ReadWritePaths=$METRICS_DIR" sitewarden_dropin "[Service]\nReadWritePaths=$METRICS_DIR\n"
    require "systemctl restart sitewarden" in_container systemctl restart sitewarden
    check "the metrics file says tunely is up" wait_until 10 metrics_say_tunely_is_up
    check "no temporary file is left in the textfile directory" \
        [ "$(in_container ls -A "$METRICS_DIR")" == sitewarden.prom ]
    work_status=$(mktemp)
    check "sitewarden status: tunely healthy (exit 0)" status_shows_tunely_healthy
    rm -f "$work_status"
    check "sitewarden status --json: exit_code 0, state healthy" status_json_is_healthy
    check "sitewarden status as nobody: refused by the 0700 state directory (exit 3)" status_refused_for_nobody
    require "remove the drop-ins" sitewarden_dropin ''
    in_container rm -f /etc/sitewarden/conf.d/90-metrics.toml
}

behaviour_main() {
    [[ -n ${SITEWARDEN_BIN:-} ]] || { echo "usage: SITEWARDEN_BIN=/path/to/sitewarden $0" >&2; exit 2; }
    sitewarden=true
    local reason prepared=true
    if ((EUID != 0)); then skip_or_fail "not root: systemd-nspawn needs root"; fi
    container_prepare_host || prepared=false
    if reason=$(container_unavailable); then skip_or_fail "$reason"; fi
    require "prepare the host: tools, uv, cached rootfs" $prepared

    step_a_boot_and_install
    step_b_start_service
    step_c_start_sitewarden
    step_k_broken_reload
    step_l_bad_config_at_start
    step_m_watchdog
    step_n_metrics_and_status
    finish
}

behaviour_main "$@"
