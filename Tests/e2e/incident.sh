#!/usr/bin/env bash
# The tunely incident, end to end, under real systemd 252 in a throwaway container.
#
#   bash Tests/e2e/incident.sh           assert mode: one `ok - ...`/`not ok - ...` line per
#                                        check, then `e2e: N passed, M failed`; exit 1 if any failed
#   bash Tests/e2e/incident.sh --demo    the same steps, narrated, with systemctl and journal output
#
#   SITEWARDEN_BIN=/path/to/sitewarden   also run the sitewarden steps (c and e); without it the
#                                        run stops after the damage step (d) and says so
#   SITEWARDEN_VARIANT=nonroot           run sitewarden as its own unprivileged user, with
#                                        deploy/sitewarden-nonroot.service and the polkit rule
#                                        deploy/50-sitewarden.rules; SITEWARDEN_VARIANT=root-nocaps:
#                                        the root unit with an empty CapabilityBoundingSet=
#                                        (default: root, the root unit as shipped)
#   CI=true                              a host that cannot run the container fails the run
#                                        instead of skipping it
#
# Steps: (a) boot, install tunely 0.2.3 from PyPI into a venv; (b) start as-dispatch.service
# and see GET /api/info answer 200; (c) install sitewarden, record its baseline, start it;
# (d) truncate server.py in place to its first 562 lines, as the incident did, restart the
# service and see /api/info answer 404; (e) see sitewarden restore the file, restart the
# service and /api/info answer 200 again, and the journal tell each step; (f) tear down.
# Needs root; installs what it needs (see lib/container.sh).
# shellcheck disable=SC2317 # the predicates below are called through check and require
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=Tests/e2e/lib/container.sh
source "$HERE/lib/container.sh"
# shellcheck source=Tests/e2e/lib/tap.sh
source "$HERE/lib/tap.sh"

readonly VENV=/opt/as-dispatch/venv
readonly SERVER_PY=$VENV/lib/python3.11/site-packages/tunely/server.py
readonly INFO_URL=http://127.0.0.1:8083/api/info
readonly FULL_LINES=1361 KEEP_LINES=562
readonly CONFIG=/etc/sitewarden/config.toml
readonly VARIANT=${SITEWARDEN_VARIANT:-root}
readonly EVENTS=(SITEWARDEN_DRIFT_FOUND SITEWARDEN_PROBE_FAILED SITEWARDEN_RESTORE_DONE SITEWARDEN_UNIT_RESTARTED SITEWARDEN_PROBE_RECOVERED)

started=$SECONDS
demo=false
sitewarden=false
booted=false
passed=0 failed=0 skipped=0

# --- reporting -----------------------------------------------------------------------------


# Narration, shown in demo mode only.
say() {
    if $demo; then printf '#   %s\n' "$@"; fi
}

# In demo mode, runs a command in the container and shows it with its output.
show() {
    $demo || return 0
    printf '\n  $ %s\n' "$*"
    in_container "$@" 2>&1 | sed 's/^/    /'
    echo
}

# Tears down, prints the summary and exits; the summary is the last line of the output.
finish() {
    if [[ -n ${1:-} ]]; then echo "# stopping: $1"; fi
    if ((failed)) && $booted; then diagnose; fi
    step "f: tear down (the run took $((SECONDS - started)) s)"
    if $booted; then check "container torn down, nothing left on the host" container_shutdown; fi
    if ((skipped)); then
        echo "e2e: $passed passed, $failed failed, $skipped skipped"
    else
        echo "e2e: $passed passed, $failed failed"
    fi
    exit $((failed > 0))
}

# After a failure, what the units and the journal say, as TAP comments.
diagnose() {
    {
        in_container systemctl status --lines=0 as-dispatch sitewarden
        in_container journalctl --lines=40 -u as-dispatch -u sitewarden
    } 2>&1 | sed 's/^/# /'
}

# --- probes and facts inside the container -------------------------------------------------

now_ms() {
    date +%s%3N
}

# "1234 ms" → "1.234 s"
seconds() {
    printf '%d.%03d s' $(($1 / 1000)) $(($1 % 1000))
}

# Prints the HTTP status of GET /api/info (000: no answer) and keeps the body in the
# container's /tmp/info.json.
probe() {
    in_container curl --silent --max-time 5 --output /tmp/info.json --write-out '%{http_code}' "$INFO_URL"
}

# wait_for_status CODE SECONDS: polls /api/info until it answers CODE; on timeout says what
# it last got.
wait_for_status() {
    local want=$1 deadline=$((SECONDS + $2)) got
    while got=$(probe); [[ $got != "$want" ]]; do
        if ((SECONDS >= deadline)); then
            echo "#   waited $2 s for GET $INFO_URL to answer $want; last answer: $got"
            return 1
        fi
        sleep 0.1
    done
}

# Waits (bounded) for the first answer of a freshly started server and checks it is CODE.
first_answer_is() {
    local want=$1 deadline=$((SECONDS + 60)) got
    while got=$(probe); [[ $got == 000 ]]; do
        if ((SECONDS >= deadline)); then
            echo "#   no answer from GET $INFO_URL within 60 s"
            return 1
        fi
        sleep 0.1
    done
    [[ $got == "$want" ]] || { echo "#   expected $want, got $got"; return 1; }
}

# The body tunely answers with is compact JSON: {"name":"Tunely Server","version":"0.2.0",...}.
# Parse it rather than match its spacing.
info_names_tunely() {
    in_container python3 -c '
import json, sys
name = json.load(open("/tmp/info.json")).get("name")
sys.exit(None if name == "Tunely Server" else "#   name is %r" % name)'
}

server_lines_are() {
    local lines
    lines=$(in_container wc -l "$SERVER_PY" | cut -d' ' -f1)
    [[ $lines == "$1" ]] || { echo "#   $SERVER_PY has $lines lines, expected $1"; return 1; }
}

server_sha256() {
    in_container sha256sum "$SERVER_PY" | cut -d' ' -f1
}

# A venv file linked to uv's cache would carry the in-place damage into the cache.
server_not_hardlinked() {
    [[ $(in_container stat -c %h "$SERVER_PY") == 1 ]]
}

nothing_listens_on_8083() {
    local got
    got=$(probe)
    [[ $got == 000 ]] || { echo "#   something on the host already answers $INFO_URL ($got)"; return 1; }
}

unit_property() {
    in_container systemctl show --property="$2" --value "$1"
}

# The message id that deploy/sitewarden.catalog gives an event: the `-- <32 hex>` header
# that follows the comment line naming it (`# SITEWARDEN_DRIFT_FOUND`).
catalog_id() {
    awk -v name="$1" '
        $0 ~ "^#[[:space:]]*" name "[[:space:]]*$" { found = 1; next }
        found && $1 == "--" && length($2) == 32 && $2 ~ /^[0-9a-f]+$/ { print $2; exit }
    ' "$REPO/deploy/sitewarden.catalog"
}

# journal_has EVENT [FIELD=VALUE...]: sitewarden logged EVENT (with those fields) since the
# damage.
journal_has() {
    local id count
    id=$(catalog_id "$1")
    [[ -n $id ]] || { echo "#   deploy/sitewarden.catalog has no id under '# $1'"; return 1; }
    # The service's answer can reach our curl a moment before sitewarden's own probe of it has
    # been journaled: wait for the entry a while rather than race it.
    local deadline=$((SECONDS + 20))
    while true; do
        count=$(in_container journalctl --quiet --since="@$((damaged_at / 1000))" -o json \
            _SYSTEMD_UNIT=sitewarden.service MESSAGE_ID="$id" "${@:2}" | wc -l)
        ((count > 0)) && return 0
        ((SECONDS < deadline)) || break
        sleep 0.5
    done
    echo "#   no journal entry MESSAGE_ID=$id ${*:2} within 20 s"
    return 1
}

sitewarden_libraries_resolve() {
    local out
    out=$(in_container ldd /usr/local/bin/sitewarden) || return 1
    ! grep 'not found' <<<"$out"
}

# True when sitewarden's main process runs with a uid other than 0.
sitewarden_runs_unprivileged() {
    local pid uid
    pid=$(unit_property sitewarden MainPID)
    uid=$(in_container ps -o uid= -p "$pid" | tr -d ' ')
    [[ -n $uid && $uid != 0 ]]
}

# True when sitewarden's main process has an empty capability bounding set.
sitewarden_has_no_capabilities() {
    local pid
    pid=$(unit_property sitewarden MainPID)
    # shellcheck disable=SC2016 # awk's own $2
    [[ $(in_container awk '/^CapBnd:/ { print $2 }' "/proc/$pid/status") == 0000000000000000 ]]
}

# sitewarden_signal SIG: signals sitewarden's main process.
sitewarden_signal() {
    in_container systemctl kill --kill-whom=main --signal="$1" sitewarden
}

# --- the steps -----------------------------------------------------------------------------

step_a_boot_and_install() {
    local quiet=(--quiet)
    if $demo; then quiet=(); fi
    step "a: boot a container with systemd as PID 1; install tunely 0.2.3 from PyPI into a venv"
    say "A throwaway container with real systemd 252 as PID 1, booted from $CONTAINER_CACHE/rootfs" \
        "under a tmpfs overlay (--volatile=overlay), so every run starts from the same clean system."
    local started
    started=$(now_ms)
    booted=true
    require "container boots and its systemd reports READY" container_boot
    say "booted in $(seconds $(($(now_ms) - started)))"
    check "PID 1 in the container is systemd" [ "$(in_container cat /proc/1/comm)" = systemd ]
    show systemctl --version
    say "Installing tunely 0.2.3 from PyPI into $VENV with uv, as on the production host."
    require "uv venv $VENV" in_container uv venv "${quiet[@]}" --python /usr/bin/python3 "$VENV"
    require "uv pip install tunely==0.2.3" \
        in_container uv pip install "${quiet[@]}" --python "$VENV/bin/python" tunely==0.2.3
    check "server.py as installed has $FULL_LINES lines" server_lines_are "$FULL_LINES"
    check "server.py is not hardlinked into uv's cache" server_not_hardlinked
    good_sha=$(server_sha256)
    say "sha256 of the good server.py: $good_sha"
}

step_b_start_service() {
    step "b: install deploy/as-dispatch.service and see GET /api/info answer"
    say "as-dispatch.service runs tunely from the venv; GET /api/info is the route the incident lost."
    require "port 8083 is free (the container shares the host's network)" nothing_listens_on_8083
    require "install as-dispatch.service" \
        container_copy "$REPO/deploy/as-dispatch.service" /etc/systemd/system/as-dispatch.service 0644
    check "systemd-analyze verify as-dispatch.service" \
        in_container systemd-analyze verify --recursive-errors=no --man=no as-dispatch.service
    in_container systemctl daemon-reload
    require "systemctl start as-dispatch" in_container systemctl start as-dispatch
    local started
    started=$(now_ms)
    require "GET /api/info answers 200 within 60 s" wait_for_status 200 60
    say "tunely answered $(seconds $(($(now_ms) - started))) after the start"
    check 'GET /api/info is JSON with "name": "Tunely Server"' info_names_tunely
    show systemctl status as-dispatch
}

step_c_start_sitewarden() {
    step "c: install sitewarden, record its baseline, start it"
    local name
    for name in "${EVENTS[@]}"; do
        check "deploy/sitewarden.catalog names $name" [ -n "$(catalog_id "$name")" ]
    done
    require "install $SITEWARDEN_BIN as /usr/local/bin/sitewarden" \
        container_copy "$SITEWARDEN_BIN" /usr/local/bin/sitewarden 0755
    check "sitewarden's shared libraries resolve in the container" sitewarden_libraries_resolve
    local unit_file=$REPO/deploy/sitewarden.service as_sitewarden=()
    if [[ $VARIANT == nonroot ]]; then
        say "Non-root variant: sitewarden runs as the system user sitewarden, which owns the venv;" \
            "polkit lets that user restart as-dispatch.service and nothing else."
        require "create the sitewarden system user" in_container useradd --system --user-group \
            --no-create-home --shell /usr/sbin/nologin sitewarden
        require "the sitewarden user owns the venv" in_container chown -R sitewarden:sitewarden "$VENV"
        require "the sitewarden user owns its state directory" \
            in_container install -d -o sitewarden -g sitewarden -m 0700 /var/lib/sitewarden
        require "install the polkit rule" container_copy "$REPO/deploy/50-sitewarden.rules" \
            /etc/polkit-1/rules.d/50-sitewarden.rules 0644
        unit_file=$REPO/deploy/sitewarden-nonroot.service
        as_sitewarden=(runuser -u sitewarden --)
    fi
    require "install sitewarden.service ($VARIANT variant)" \
        container_copy "$unit_file" /etc/systemd/system/sitewarden.service 0644
    if [[ $VARIANT == root-nocaps ]]; then
        say "Root without a single capability: restoring root-owned files and restarting units needs none."
        require "drop-in: CapabilityBoundingSet= (empty)" in_container sh -c \
            'mkdir -p /etc/systemd/system/sitewarden.service.d &&
             printf "[Service]\nCapabilityBoundingSet=\n" >/etc/systemd/system/sitewarden.service.d/nocaps.conf'
    fi
    require "install sitewarden.catalog" \
        container_copy "$REPO/deploy/sitewarden.catalog" /usr/lib/systemd/catalog/sitewarden.catalog 0644
    check "journalctl --update-catalog" in_container journalctl --update-catalog
    require "install the config" container_copy "$HERE/incident-config.toml" "$CONFIG" 0644
    in_container systemctl daemon-reload
    check "systemd-analyze verify sitewarden.service" \
        in_container systemd-analyze verify --recursive-errors=no --man=no sitewarden.service
    require "sitewarden baseline exits 0" in_container "${as_sitewarden[@]}" sitewarden baseline --config "$CONFIG"
    require "systemctl start sitewarden (returns after READY=1)" in_container systemctl start sitewarden
    check "sitewarden is active" in_container systemctl is-active --quiet sitewarden
    if [[ $VARIANT == nonroot ]]; then
        check "sitewarden's main process is not root" sitewarden_runs_unprivileged
    fi
    if [[ $VARIANT == root-nocaps ]]; then
        check "sitewarden runs with no capabilities in its bounding set" sitewarden_has_no_capabilities
    fi
    show systemctl status sitewarden
}

step_d_damage() {
    step "d: truncate server.py in place to its first $KEEP_LINES lines, restart as-dispatch"
    say "The incident: server.py cut short of its $FULL_LINES lines. What is left still imports, so the" \
        "service starts, but the routes registered late in _register_routes, /api/info among them, are gone."
    if $sitewarden; then
        # sitewarden scans every 2 s, and the damaged server needs seconds to start: left
        # running, sitewarden would usually repair the file before the damaged server first
        # answers. Paused, it meets what the incident left behind: a damaged file, served.
        # The pause lasts as long as the damaged server takes to answer (1-4 s here), which
        # must stay well below sitewarden's WatchdogSec.
        say "pausing sitewarden (SIGSTOP) until the damaged server has answered"
        check "pause sitewarden" sitewarden_signal STOP
    fi
    damaged_at=$(now_ms)
    # In place, as the incident wrote it: same inode, shorter content.
    # shellcheck disable=SC2016 # expanded by the container's sh
    check "truncate server.py in place" in_container sh -c \
        'truncate --size="$(head -n "$1" "$2" | wc -c)" "$2"' sh "$KEEP_LINES" "$SERVER_PY"
    check "server.py now has $KEEP_LINES lines" server_lines_are "$KEEP_LINES"
    require "systemctl restart as-dispatch" in_container systemctl restart as-dispatch
    damaged_invocation=$(unit_property as-dispatch InvocationID)
    check "the damaged server starts and answers GET /api/info with 404" first_answer_is 404
    check "as-dispatch is active while damaged" in_container systemctl is-active --quiet as-dispatch
    show systemctl status as-dispatch
}

step_e_recovery() {
    step "e: sitewarden restores server.py, restarts as-dispatch, and /api/info answers again"
    say "sitewarden should find the drift against its baseline, restore server.py from its backup," \
        "restart as-dispatch over D-Bus and probe /api/info until it answers 200."
    local resumed_at recovered_at
    resumed_at=$(now_ms)
    check "resume sitewarden" sitewarden_signal CONT
    if check "GET /api/info answers 200 again within 90 s" wait_for_status 200 90; then
        recovered_at=$(now_ms)
        echo "# damage to recovery: $(seconds $((recovered_at - damaged_at)))" \
            "(sitewarden paused for $(seconds $((resumed_at - damaged_at))) of it;" \
            "resume to recovery: $(seconds $((recovered_at - resumed_at))))"
    fi
    check "server.py has $FULL_LINES lines again" server_lines_are "$FULL_LINES"
    check "server.py has its pre-damage sha256" [ "$(server_sha256)" = "$good_sha" ]
    check "journal: drift found, naming tunely/server.py" \
        journal_has SITEWARDEN_DRIFT_FOUND SITEWARDEN_FILE=tunely/server.py
    check "journal: the failing route is explained by the truncated server.py" \
        journal_has SITEWARDEN_PROBE_FAILED SITEWARDEN_CAUSE=drift SITEWARDEN_DRIFTED_FILES=tunely/server.py
    check "journal: restore done" journal_has SITEWARDEN_RESTORE_DONE
    check "journal: unit restarted" journal_has SITEWARDEN_UNIT_RESTARTED
    check "journal: probe recovered" journal_has SITEWARDEN_PROBE_RECOVERED
    check "journal: target recovered (files verified, every route answers)" \
        journal_has SITEWARDEN_TARGET_RECOVERED
    check "as-dispatch was restarted after the damage restart (new InvocationID)" \
        [ "$(unit_property as-dispatch InvocationID)" != "$damaged_invocation" ]
    check "sitewarden is still active" in_container systemctl is-active --quiet sitewarden
    show journalctl -u sitewarden -x
    show systemctl status sitewarden
}

step_e2_stop() {
    step "e2: systemctl stop sitewarden: STOPPING=1, a clean exit"
    check "systemctl stop sitewarden" in_container systemctl stop sitewarden
    check "sitewarden is inactive, not failed" [ "$(unit_property sitewarden ActiveState)" = inactive ]
    check "its main process exited 0" [ "$(unit_property sitewarden ExecMainStatus)" = 0 ]
    check "journal: stopping" journal_has SITEWARDEN_STOPPING
}

main() {
    case ${1:-} in
        "") ;;
        --demo) demo=true ;;
        *) echo "usage: $0 [--demo]" >&2; exit 2 ;;
    esac
    if [[ -n ${SITEWARDEN_BIN:-} ]]; then sitewarden=true; fi

    local reason prepared=true
    if ((EUID != 0)); then skip_or_fail "not root: systemd-nspawn needs root"; fi
    container_prepare_host || prepared=false
    if reason=$(container_unavailable); then skip_or_fail "$reason"; fi
    # The host can run containers, so a failed preparation (debootstrap, uv) is a failure.
    require "prepare the host: tools, uv, cached rootfs" $prepared

    step_a_boot_and_install
    step_b_start_service
    if $sitewarden; then step_c_start_sitewarden; fi
    step_d_damage
    if $sitewarden; then
        step_e_recovery
        step_e2_stop
    else
        skipped=1
        echo "# SITEWARDEN_BIN is not set: stopping after step d; the sitewarden steps (c, e) did not run."
        echo "# To run them: SITEWARDEN_BIN=/path/to/sitewarden bash Tests/e2e/incident.sh"
    fi
    finish
}

# Run only when executed, so other scenarios can source the steps.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
