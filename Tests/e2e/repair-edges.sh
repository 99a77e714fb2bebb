#!/usr/bin/env bash
# The repair's edge cases under real systemd 252, after the incident's set-up (steps a–c of
# incident.sh): a reload with repair limits, a unit whose start fails, a unit that hits its
# start limit, and files rewritten faster than the restore limit (flapping). Each case asserts
# the journal entries sitewarden writes, by MESSAGE_ID, and that the files end up restored.
#
#   SITEWARDEN_BIN=/path/to/sitewarden bash Tests/e2e/repair-edges.sh
# Output and exit status as incident.sh: `ok`/`not ok` lines, then `e2e: N passed, M failed`.
# shellcheck disable=SC2317 # the predicates below are called through check and require
set -u -o pipefail

# shellcheck source=Tests/e2e/incident.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/incident.sh"

readonly AS_DISPATCH_DROPIN=/etc/systemd/system/as-dispatch.service.d/edge.conf

# The incident's config with room for several restores in a window and a short quiet period.
edge_config() {
    sed -e '/^state_directory/a quiet_period = "500ms"' -e '/^unit = /a max_restores = 3' \
        "$HERE/incident-config.toml"
}

# as_dispatch_dropin TEXT: replaces the edge drop-in of as-dispatch.service (empty: removes it).
as_dispatch_dropin() {
    if [[ -z $1 ]]; then
        in_container rm -f "$AS_DISPATCH_DROPIN"
    else
        printf '%b' "$1" | in_container install -D -m 0644 /dev/stdin "$AS_DISPATCH_DROPIN"
    fi && in_container systemctl daemon-reload
}

damage() {
    damaged_at=$(now_ms)
    # shellcheck disable=SC2016 # expanded by the container's sh
    in_container sh -c 'truncate --size="$(head -n "$1" "$2" | wc -c)" "$2"' sh "$KEEP_LINES" "$SERVER_PY"
}

# wait_for_event NAME SECONDS [FIELD=VALUE…]: waits for a journal entry of that event since the damage.
wait_for_event() {
    local name=$1 deadline=$((SECONDS + $2))
    shift 2
    until journal_has "$name" "$@" >/dev/null; do
        ((SECONDS < deadline)) || { echo "#   no $name within the wait"; return 1; }
        sleep 0.2
    done
}

step_g_reload() {
    step "g: systemctl reload sitewarden with repair limits (max_restores = 3, quiet_period = 500ms)"
    edge_config | in_container install -m 0644 /dev/stdin "$CONFIG"
    damaged_at=$(now_ms)
    check "systemctl reload sitewarden (returns after READY=1)" in_container systemctl reload sitewarden
    check "journal: configuration reloaded" journal_has SITEWARDEN_CONFIG_RELOADED
}

step_h_start_fails() {
    step "h: damage while as-dispatch cannot start: restored, restart failed, retried once it can"
    require "as-dispatch made to fail at start (drop-in)" \
        as_dispatch_dropin '[Service]\nType=oneshot\nRestart=no\nExecStart=\nExecStart=/bin/false\n'
    damage
    check "journal: restart failed, naming the service's result" \
        wait_for_event SITEWARDEN_UNIT_RESTART_FAILED 20 SITEWARDEN_SERVICE_RESULT=exit-code
    check "server.py was restored even so" server_lines_are "$FULL_LINES"
    require "as-dispatch can start again" as_dispatch_dropin ''
    check "journal: the pending restart is retried and the target recovers" \
        wait_for_event SITEWARDEN_TARGET_RECOVERED 60
    check "GET /api/info answers 200" wait_for_status 200 30
}

step_i_start_limit() {
    step "i: damage when as-dispatch is at its start limit: SITEWARDEN_START_LIMIT_HIT"
    require "as-dispatch allows one start a minute (drop-in)" \
        as_dispatch_dropin '[Unit]\nStartLimitIntervalSec=60\nStartLimitBurst=1\n'
    check "systemctl restart as-dispatch uses up the burst" in_container systemctl restart as-dispatch
    damage
    check "journal: start limit hit" wait_for_event SITEWARDEN_START_LIMIT_HIT 20 \
        SITEWARDEN_SERVICE_RESULT=start-limit-hit
    check "server.py was restored" server_lines_are "$FULL_LINES"
    require "the operator lifts the limit" as_dispatch_dropin ''
    check "systemctl reset-failed as-dispatch" in_container systemctl reset-failed as-dispatch
    check "journal: the pending restart goes through and the target recovers" \
        wait_for_event SITEWARDEN_TARGET_RECOVERED 60
}

step_j_flapping() {
    step "j: server.py rewritten again and again: at most 3 restores in the window, then flapping"
    local since round
    since=$(now_ms)
    for round in 1 2 3 4 5; do
        damage
        damaged_at=$since
        if journal_has SITEWARDEN_FLAPPING >/dev/null; then break; fi
        wait_for_event SITEWARDEN_RESTORE_DONE 20 >/dev/null
        sleep 1.5
        journal_has SITEWARDEN_FLAPPING >/dev/null && break
    done
    damaged_at=$since
    check "journal: flapping (critical) after the restore limit (round $round)" \
        wait_for_event SITEWARDEN_FLAPPING 20 PRIORITY=2
    check "no more restores while flapping: server.py stays damaged" server_lines_are "$KEEP_LINES"
    check "sitewarden keeps running and says so" sitewarden_status_says flapping
}

sitewarden_status_says() {
    in_container systemctl show --property=StatusText --value sitewarden | grep -q "$1"
}

edges_main() {
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
    step_g_reload
    step_h_start_fails
    step_i_start_limit
    step_j_flapping
    finish
}

edges_main "$@"
