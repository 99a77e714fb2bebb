#!/usr/bin/env bash
# Installs sitewarden on this machine, or removes it (run as root). Idempotent: running it again
# changes nothing that is already in place, and never overwrites an existing configuration.
#
#   deploy/install.sh [--binary PATH] [--nonroot]    install
#   deploy/install.sh --uninstall [--purge]          remove what install put in place
#
#   --binary PATH   install this sitewarden binary instead of building one; without it the
#                   release binary is built here (swift build -c release --static-swift-stdlib)
#   --nonroot       install deploy/sitewarden-nonroot.service as sitewarden.service, create the
#                   system user `sitewarden` and install the polkit rule deploy/50-sitewarden.rules
#   --uninstall     stop and disable sitewarden.service and remove the binary, the unit, the
#                   catalog, the polkit rule and the documentation; the configuration
#                   (/etc/sitewarden), the state and baselines (/var/lib/sitewarden) and the
#                   sitewarden user stay
#   --purge         with --uninstall: remove those too
#
# What it installs:
#   /usr/local/bin/sitewarden                     the binary (the units' ExecStart=)
#   /etc/systemd/system/sitewarden.service        the root or non-root unit
#   /usr/lib/systemd/catalog/sitewarden.catalog   journalctl -x texts (journalctl --update-catalog)
#   /usr/local/share/doc/sitewarden/README.md     the units' Documentation= and the catalog's Support=
#   /etc/sitewarden/config.toml                   config.example.toml, only when there is no config
#   /etc/sitewarden/conf.d/                       drop-in directory for fleet tools
#   /etc/polkit-1/rules.d/50-sitewarden.rules     with --nonroot
# It does not enable or start sitewarden: edit the configuration, record a baseline, then
# `systemctl enable --now sitewarden` (README.md, "Installing on a server").
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly BIN=/usr/local/bin/sitewarden
readonly UNIT=/etc/systemd/system/sitewarden.service
readonly CATALOG=/usr/lib/systemd/catalog/sitewarden.catalog
readonly DOC_DIR=/usr/local/share/doc/sitewarden
readonly CONFIG_DIR=/etc/sitewarden
readonly POLKIT_RULE=/etc/polkit-1/rules.d/50-sitewarden.rules
readonly STATE_DIR=/var/lib/sitewarden
readonly USER_NAME=sitewarden
# The directories install created (parents that did not exist, such as /usr/local/share/doc),
# one a line in creation order, so that --uninstall removes those and only those.
readonly CREATED_DIRS=$DOC_DIR/.created-directories

binary="" nonroot=false uninstall=false purge=false

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 64
}

say() {
    echo "install: $*"
}

while (($#)); do
    case $1 in
        --binary)
            (($# >= 2)) || usage
            binary=$2
            shift
            ;;
        --binary=*) binary=${1#--binary=} ;;
        --nonroot) nonroot=true ;;
        --uninstall) uninstall=true ;;
        --purge) purge=true ;;
        -h | --help) usage ;;
        *) echo "install: unknown option $1" >&2; usage ;;
    esac
    shift
done
if $purge && ! $uninstall; then echo "install: --purge goes with --uninstall" >&2; exit 64; fi
if ((EUID != 0)); then echo "install: run as root" >&2; exit 1; fi

# True when systemd is PID 1 here (not in a chroot or a build container).
systemd_running() {
    [[ -d /run/systemd/system ]]
}

# make_dirs DIR: creates DIR and its missing parents (mode 0755), noting each one created.
make_dirs() {
    local dir=$1 missing=()
    while [[ ! -d $dir ]]; do
        missing=("$dir" "${missing[@]}")
        dir=$(dirname "$dir")
    done
    for dir in "${missing[@]}"; do
        install -d -m 0755 "$dir"
        created+=("$dir")
    done
}

# install_file MODE SOURCE DEST: copies SOURCE to DEST unless DEST already has the same bytes
# and mode, so a second run touches nothing.
install_file() {
    local mode=$1 source=$2 dest=$3
    if [[ -f $dest ]] && cmp -s "$source" "$dest" && [[ $(stat -c %a "$dest") == "${mode#0}" ]]; then
        return 0
    fi
    make_dirs "$(dirname "$dest")"
    install -m "$mode" "$source" "$dest"
    say "installed $dest"
    changed=true
}

build_binary() {
    command -v swift >/dev/null || {
        echo "install: no swift on PATH; build elsewhere and pass --binary PATH" >&2
        exit 1
    }
    say "building the release binary (swift build -c release --static-swift-stdlib)"
    (cd "$REPO" && swift build -c release --static-swift-stdlib >&2)
    binary=$REPO/.build/release/sitewarden
}

do_install() {
    changed=false
    created=()
    if [[ -z $binary ]]; then build_binary; fi
    [[ -x $binary ]] || { echo "install: $binary is not an executable" >&2; exit 1; }
    "$binary" --version >/dev/null || { echo "install: $binary does not run here" >&2; exit 1; }

    install_file 0755 "$binary" "$BIN"
    if $nonroot; then
        if ! getent passwd "$USER_NAME" >/dev/null; then
            useradd --system --user-group --no-create-home --home-dir "$STATE_DIR" \
                --shell /usr/sbin/nologin "$USER_NAME"
            say "created the system user $USER_NAME (it must own, or be able to write, the venvs)"
        fi
        install_file 0644 "$REPO/deploy/sitewarden-nonroot.service" "$UNIT"
        install_file 0644 "$REPO/deploy/50-sitewarden.rules" "$POLKIT_RULE"
    else
        install_file 0644 "$REPO/deploy/sitewarden.service" "$UNIT"
    fi
    install_file 0644 "$REPO/README.md" "$DOC_DIR/README.md"
    if [[ ! -f $CONFIG_DIR/config.toml ]]; then
        install -d -m 0755 "$CONFIG_DIR"
        install -m 0600 "$REPO/config.example.toml" "$CONFIG_DIR/config.toml"
        if $nonroot; then chgrp "$USER_NAME" "$CONFIG_DIR/config.toml" && chmod 0640 "$CONFIG_DIR/config.toml"; fi
        say "installed $CONFIG_DIR/config.toml from config.example.toml: edit it"
        changed=true
    else
        say "kept the existing $CONFIG_DIR/config.toml"
    fi
    if [[ ! -d $CONFIG_DIR/conf.d ]]; then
        install -d -m 0755 "$CONFIG_DIR/conf.d"
        changed=true
    fi
    if ! cmp -s "$REPO/deploy/sitewarden.catalog" "$CATALOG" 2>/dev/null; then
        install_file 0644 "$REPO/deploy/sitewarden.catalog" "$CATALOG"
        journalctl --update-catalog
    fi
    if ((${#created[@]})); then printf '%s\n' "${created[@]}" >>"$CREATED_DIRS"; fi
    if systemd_running && $changed; then systemctl daemon-reload; fi
    if $changed; then
        say "done. Next: edit $CONFIG_DIR/config.toml, sitewarden check-config, sitewarden baseline,"
        say "systemctl edit sitewarden (ReadWritePaths= your venvs), systemctl enable --now sitewarden"
    else
        say "everything was already in place"
    fi
}

# remove PATH: removes a file if it is there, saying so.
remove() {
    if [[ -e $1 || -L $1 ]]; then
        rm -f -- "$1"
        say "removed $1"
    fi
}

do_uninstall() {
    if systemd_running && systemctl cat sitewarden.service >/dev/null 2>&1; then
        systemctl disable --now sitewarden.service 2>/dev/null || true
    fi
    remove "$UNIT"
    if [[ -d $UNIT.d ]] && $purge; then rm -rf -- "$UNIT.d" && say "removed $UNIT.d"; fi
    remove "$BIN"
    remove "$POLKIT_RULE"
    remove "$DOC_DIR/README.md"
    if [[ -e $CATALOG ]]; then
        remove "$CATALOG"
        journalctl --update-catalog
    fi
    # The directories install created, deepest first, each only if nothing else is in it now.
    local created=() index
    if [[ -f $CREATED_DIRS ]]; then
        mapfile -t created <"$CREATED_DIRS"
        rm -f -- "$CREATED_DIRS"
    fi
    for ((index = ${#created[@]} - 1; index >= 0; index--)); do
        if [[ -d ${created[index]} ]]; then rmdir --ignore-fail-on-non-empty -- "${created[index]}"; fi
    done
    if $purge; then
        if [[ -d $CONFIG_DIR ]]; then rm -rf -- "$CONFIG_DIR" && say "removed $CONFIG_DIR"; fi
        if [[ -d $STATE_DIR ]]; then rm -rf -- "$STATE_DIR" && say "removed $STATE_DIR"; fi
        if getent passwd "$USER_NAME" >/dev/null; then
            userdel "$USER_NAME" && say "removed the user $USER_NAME"
        fi
        if getent group "$USER_NAME" >/dev/null; then groupdel "$USER_NAME" && say "removed the group $USER_NAME"; fi
    else
        if [[ -d $CONFIG_DIR || -d $STATE_DIR ]]; then
            say "kept $CONFIG_DIR and $STATE_DIR (configuration, baselines, state); --purge removes them"
        fi
    fi
    if systemd_running; then
        systemctl daemon-reload
        systemctl reset-failed sitewarden.service 2>/dev/null || true
    fi
}

if $uninstall; then do_uninstall; else do_install; fi
