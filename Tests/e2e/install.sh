#!/usr/bin/env bash
# deploy/install.sh under real systemd 252 in a throwaway container: the unit is known to
# systemd and verifies clean, the journal catalog explains sitewarden's entries, a second run
# changes nothing and keeps an edited configuration, and --uninstall leaves the system as it was
# (a listing of every file before and after, compared), for the root and the non-root variant.
#
#   SITEWARDEN_BIN=/path/to/sitewarden bash Tests/e2e/install.sh
# The binary must run in a bare Debian 12 (a release build: swift build -c release
# --static-swift-stdlib). Output as incident.sh: `ok`/`not ok` lines, then `e2e: N passed, M failed`.
# shellcheck disable=SC2317 # the predicates below are called through check and require
set -u -o pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=Tests/e2e/lib/container.sh
source "$HERE/lib/container.sh"
# shellcheck source=Tests/e2e/lib/tap.sh
source "$HERE/lib/tap.sh"

readonly UNIT=/etc/systemd/system/sitewarden.service
readonly CONFIG=/etc/sitewarden/config.toml
readonly DRIFT_ID=d9d21960ed484df9b2138da14f87bbef
started=$SECONDS
booted=false
work=""
passed=0 failed=0


finish() {
    if [[ -n ${1:-} ]]; then echo "# stopping: $1"; fi
    step "tear down (the run took $((SECONDS - started)) s)"
    if $booted; then check "container torn down, nothing left on the host" container_shutdown; fi
    if [[ -n ${work:-} ]]; then rm -rf "$work"; fi
    echo "e2e: $passed passed, $failed failed"
    exit $((failed > 0))
}

# --- facts inside the container ------------------------------------------------------------

# Every path on the root filesystem except those that change by themselves (logs, caches, the
# runtime directories), with the owner and mode of each and the checksum of the account files:
# what an install may change and an uninstall must put back.
snapshot() {
    in_container sh -c "
        find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
            -o -path /var/tmp -o -path /var/log -o -path /var/cache -o -path /var/lib/systemd \\) -prune -o -printf '%p %u:%g %m\n' | sort
        sha256sum /etc/passwd /etc/group /etc/shadow /etc/gshadow" >"$work/$1"
}

same_as() {
    if ! diff -u "$work/$1" "$work/$2" >"$work/diff"; then
        sed 's/^/#   /' "$work/diff" | head -n 40
        return 1
    fi
}

# Only /etc/sitewarden (the configuration and its conf.d) differs between A and B.
only_config_left() {
    diff "$work/$1" "$work/$2" | grep '^[<>]' >"$work/diff"
    if grep -v -E '^> /etc/sitewarden(/config\.toml|/conf\.d)? ' "$work/diff" | grep -q .; then
        sed 's/^/#   /' "$work/diff" | head -n 40
        return 1
    fi
    grep -q "^> $CONFIG " "$work/diff"
}

install_sitewarden() {
    in_container bash "$REPO/deploy/install.sh" --binary "$SITEWARDEN_BIN" "$@" >"$work/install.log" 2>&1 || {
        sed 's/^/#   /' "$work/install.log"
        return 1
    }
}

uninstall_sitewarden() {
    in_container bash "$REPO/deploy/install.sh" --uninstall "$@" >"$work/install.log" 2>&1 || {
        sed 's/^/#   /' "$work/install.log"
        return 1
    }
}

second_run_changes_nothing() {
    install_sitewarden "$@" && grep -q "everything was already in place" "$work/install.log"
}

unit_known() {
    in_container systemctl cat sitewarden.service 2>/dev/null | grep -q "^ExecStart=/usr/local/bin/sitewarden "
}

unit_unknown() {
    ! in_container systemctl cat sitewarden.service >/dev/null 2>&1
}

unit_verifies_clean() {
    local output
    output=$(in_container systemd-analyze verify --recursive-errors=no --man=no "$UNIT" 2>&1) || {
        echo "#   $output"
        return 1
    }
    [[ -z $output ]] || { echo "#   $output"; return 1; }
}

catalog_lists_sitewarden() {
    in_container journalctl --list-catalog 2>/dev/null | grep -q "^$DRIFT_ID "
}

catalog_forgot_sitewarden() {
    ! catalog_lists_sitewarden
}

binary_runs() {
    in_container /usr/local/bin/sitewarden --version | grep -q '^sitewarden '
}

config_is_private() {
    [[ $(in_container stat -c %a "$CONFIG") == "$1" ]]
}

config_kept_its_edit() {
    in_container grep -q '^# edited by the operator$' "$CONFIG"
}

unit_active() {
    [[ $(in_container systemctl is-active sitewarden) == active ]] || {
        in_container systemctl status --lines=5 sitewarden | sed 's/^/#   /'
        return 1
    }
}

# add_venv_dropin DIR: what the README tells an operator to do for a venv of their own.
add_venv_dropin() {
    in_container mkdir -p "$1" &&
        printf '[Service]\nReadWritePaths=%s\n' "$1" |
        in_container install -D -m 0644 /dev/stdin /etc/systemd/system/sitewarden.service.d/venv.conf &&
        in_container systemctl daemon-reload
}

# venv_writable_for_unit DIR: inside the unit's mount namespace DIR is writable, /srv is not.
venv_writable_for_unit() {
    local pid
    pid=$(in_container systemctl show --property=MainPID --value sitewarden)
    in_container nsenter -t "$pid" -m sh -c "touch '$1/.probe' && rm '$1/.probe' && ! touch /srv/.probe 2>/dev/null"
}

undo_start() {
    in_container systemctl stop sitewarden &&
        in_container rm -rf /var/lib/sitewarden /etc/systemd/system/sitewarden.service.d "$1" /srv/app &&
        in_container systemctl daemon-reload
}

user_exists() {
    in_container getent passwd sitewarden >/dev/null
}

polkit_rule_installed() {
    in_container test -f /etc/polkit-1/rules.d/50-sitewarden.rules
}

runs_as_the_sitewarden_user() {
    [[ $(in_container systemctl show --property=User --value sitewarden.service) == sitewarden ]]
}

# --- the run -------------------------------------------------------------------------------

install_main() {
    [[ -n ${SITEWARDEN_BIN:-} ]] || { echo "usage: SITEWARDEN_BIN=/path/to/sitewarden $0" >&2; exit 2; }
    SITEWARDEN_BIN=$(readlink -f "$SITEWARDEN_BIN")
    local reason prepared=true
    if ((EUID != 0)); then skip_or_fail "not root: systemd-nspawn needs root"; fi
    container_prepare_host --no-uv || prepared=false
    if reason=$(container_unavailable); then skip_or_fail "$reason"; fi
    require "prepare the host: tools, cached rootfs" $prepared
    work=$(mktemp -d /tmp/sitewarden-install-e2e.XXXXXX)

    step "a: boot with the repository and the binary bound read-only"
    container_bind_ro "$REPO"
    if [[ $SITEWARDEN_BIN != "$REPO"/* ]]; then container_bind_ro "$SITEWARDEN_BIN"; fi
    require "boot systemd 252 in a container" container_boot
    booted=true
    require "list every file before the install" snapshot before

    step "b: install (root unit)"
    require "deploy/install.sh --binary \$SITEWARDEN_BIN" install_sitewarden
    check "the binary runs from /usr/local/bin" binary_runs
    check "systemctl cat sitewarden shows the unit" unit_known
    check "systemd-analyze verify reports nothing" unit_verifies_clean
    check "journalctl --list-catalog has sitewarden's entries (catalog updated)" catalog_lists_sitewarden
    check "the example configuration is installed, mode 0600" config_is_private 600
    require "list every file after the install" snapshot installed

    step "c: install again: idempotent, the operator's configuration kept"
    in_container sh -c "echo '# edited by the operator' >>$CONFIG"
    check "a second run says everything was already in place" second_run_changes_nothing
    check "the edited configuration is kept" config_kept_its_edit
    snapshot again
    check "no file added, removed or changed in mode by the second run" same_as installed again

    step "c2: start it as installed, on a server without the example's venv, then with a venv of its own"
    # The example configuration names /opt/as-dispatch/venv, which this server does not have: the
    # unit's ReadWritePaths= must not make systemd refuse to start it (226/NAMESPACE, in a loop).
    check "systemctl start sitewarden works without /opt/as-dispatch/venv" in_container systemctl start sitewarden
    check "sitewarden is active, not failed with 226/NAMESPACE" unit_active
    check "the README's drop-in adds a venv: ReadWritePaths=/srv/app/venv" add_venv_dropin /srv/app/venv
    check "systemctl restart sitewarden works with it" in_container systemctl restart sitewarden
    check "sitewarden is active again" unit_active
    check "the venv is writable for the unit, the rest of /srv is not" venv_writable_for_unit /srv/app/venv
    require "stop it and remove what the start added (state directory, drop-in, venv)" undo_start /srv/app/venv

    step "d: uninstall: only the configuration stays; --purge: nothing stays"
    require "deploy/install.sh --uninstall" uninstall_sitewarden
    check "systemctl no longer knows the unit" unit_unknown
    check "the catalog no longer has sitewarden's entries" catalog_forgot_sitewarden
    snapshot uninstalled
    check "only /etc/sitewarden (the configuration) is left" only_config_left before uninstalled
    require "deploy/install.sh --uninstall --purge" uninstall_sitewarden --purge
    snapshot purged
    check "after --purge every file is as before the install" same_as before purged

    step "e: the non-root variant: its user, the polkit rule; --uninstall --purge removes them"
    require "deploy/install.sh --nonroot" install_sitewarden --nonroot
    check "the system user sitewarden exists" user_exists
    check "the polkit rule is installed" polkit_rule_installed
    check "the unit runs as User=sitewarden" runs_as_the_sitewarden_user
    check "systemd-analyze verify reports nothing (non-root unit)" unit_verifies_clean
    check "the configuration is readable by its group only (0640)" config_is_private 640
    check "a second run says everything was already in place" second_run_changes_nothing --nonroot
    require "deploy/install.sh --uninstall --purge" uninstall_sitewarden --purge
    snapshot purged-nonroot
    check "after --purge every file and account is as before the install" same_as before purged-nonroot
    finish
}

install_main "$@"
