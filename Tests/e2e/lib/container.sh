# shellcheck shell=bash
# Throwaway containers with real systemd 252 as PID 1, for sitewarden's end-to-end tests.
#
# Source this file, then:
#   container_prepare_host [--no-uv]
#                              install the tools, find uv (unless --no-uv), build the cached
#                              rootfs (once)
#   container_unavailable      prints why containers cannot run here; fails if they can
#   container_bind_ro HOST_PATH
#                              bind a host file or directory read-only at the same path in
#                              every later boot (e.g. a toolchain's runtime libraries)
#   container_boot             boot; returns once the container's systemd reports READY
#   in_container CMD...        run CMD inside (exit code, stdout and stderr passed through)
#   container_copy SRC DEST [MODE]
#   container_shutdown         halt and leave nothing behind; fails if something was left
#
# How the container runs (the recipes of shared/SYSTEMD.md, checked on hosts where systemd is
# not PID 1):
# - The rootfs is a minimal bookworm made by debootstrap and cached in $CONTAINER_CACHE/rootfs.
#   It is booted with --volatile=overlay: a tmpfs overlay takes every write, so each boot
#   starts clean and the cache is never modified.
# - systemd-nspawn runs inside `unshare --mount --propagation private` over a private tmpfs
#   /run, so no mount it makes is ever visible on the host; they all vanish with it.
# - nspawn and its container live in a cgroup of their own, created beside this shell's
#   cgroup, so teardown removes exactly what they created, and nothing of anyone else's.
# - READY=1 comes through a notify socket we listen on, together with the leader's pid;
#   commands enter the container with nsenter under a clean environment.
# - The host's network is shared (no private network), so uv inside reaches the package
#   index; the host's CA bundle and uv binary are bound in, and uv's cache persists in
#   $CONTAINER_CACHE/uv between runs. Tests that install no Python packages pass --no-uv.
#
# container_boot installs EXIT/INT/TERM/HUP traps that tear the container down, so call it
# from the main shell, not a subshell, and do not replace those traps.

: "${CONTAINER_CACHE:=/var/cache/sitewarden-e2e}"
: "${CONTAINER_BOOT_TIMEOUT:=60}"
: "${CONTAINER_STOP_TIMEOUT:=30}"
# Bound on every in_container command, so that no step can hang a run.
: "${CONTAINER_CMD_TIMEOUT:=300}"

# libsystemd0, libcurl4, libssl3 and libstdc++6 are the dynamic dependencies of a sitewarden
# built with a static Swift runtime. procps brings /bin/kill, which sitewarden.service's
# ExecReload= uses, as on any Debian server (minbase leaves it out). polkitd answers whether the
# non-root variant may restart a unit (deploy/50-sitewarden.rules); it needs logind (libpam-systemd).
readonly _CT_PACKAGES=systemd,systemd-sysv,dbus,python3,curl,ca-certificates,libcurl4,libssl3,libstdc++6,libsystemd0,procps,libpam-systemd,polkitd
readonly _CT_STAMP=.sitewarden-e2e-packages
readonly _CT_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
readonly _CT_ENV=(
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    HOME=/root
    LANG=C.UTF-8
    SYSTEMD_PAGER=cat
    SSL_CERT_FILE="$_CT_CA_BUNDLE"
    UV_CACHE_DIR=/var/cache/uv
    # Never hardlink from the shared cache: tests damage venv files in place, and a linked
    # inode would carry that damage into the cache and into every later run.
    UV_LINK_MODE=copy
)

_ct_prepared=false
_ct_uv=""          # the host's uv executable, bound into the container; empty with --no-uv
_ct_binds_ro=()    # host paths bound read-only at the same path (container_bind_ro)
_ct_work=""        # host scratch directory: notify socket, logs
_ct_nspawn_pid=""
_ct_leader=""      # the container's PID 1, as seen from the host
_ct_cgroups=()     # cgroup directories created for this container, one per hierarchy
_ct_listener_pid=""

# Prints a failure of this library on stderr.
_ct_error() {
    echo "container: $*" >&2
}

# Installs the host tools the library needs, finds uv and makes sure the rootfs is cached.
# --no-uv: the caller needs no uv in the container, so none is looked for, installed or bound.
# shellcheck disable=SC2120 # the option is optional
container_prepare_host() {
    local with_uv=true missing=()
    case ${1:-} in
        "") ;;
        --no-uv) with_uv=false ;;
        *) _ct_error "container_prepare_host: unknown option $1"; return 1 ;;
    esac
    command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v python3 >/dev/null || missing+=(python3)
    if ((${#missing[@]})); then
        echo "container: installing ${missing[*]}" >&2
        if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
            _ct_error "apt-get install ${missing[*]} failed"
            return 1
        fi
    fi
    if $with_uv; then _ct_find_uv || return 1; fi
    _ct_ensure_rootfs && _ct_prepared=true
}

# Binds HOST_PATH read-only at the same path in the containers booted after this call: for
# host files a test needs where it expects them, such as the libraries named in a binary's
# RUNPATH.
container_bind_ro() {
    local path=$1
    [[ -e $path ]] || { _ct_error "container_bind_ro: no such file or directory: $path"; return 1; }
    # nspawn reads a colon as the separator of source and destination.
    [[ $path != *:* ]] || { _ct_error "container_bind_ro: a colon in $path"; return 1; }
    _ct_binds_ro+=("$path")
}

# Prints why containers cannot run on this host and succeeds; fails when they can.
container_unavailable() {
    if ((EUID != 0)); then
        echo "not root: systemd-nspawn, unshare and cgroups need root"
    elif ! command -v systemd-nspawn >/dev/null; then
        echo "systemd-nspawn is not installed (package systemd-container)"
    elif ! unshare --mount --propagation private true 2>/dev/null; then
        echo "cannot create a mount namespace (unshare --mount failed)"
    elif [[ -z $(_ct_cgroup_parents) ]]; then
        echo "no systemd or unified cgroup hierarchy mounted under /sys/fs/cgroup"
    else
        return 1
    fi
}

# Sets _ct_uv to a uv executable that can run inside the container. `command -v uv` may be
# a wrapper script (pyenv shims are), which would not run there, so only an ELF file will do;
# a uv installed by pip is found through its own Python package; failing both, pip installs
# one into a venv in the cache.
_ct_find_uv() {
    local candidate venv=$CONTAINER_CACHE/host-uv
    for candidate in "$(command -v uv)" \
        "$(python3 -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null)" \
        "$venv/bin/uv"; do
        if [[ -n $candidate ]] && _ct_is_elf "$candidate"; then
            _ct_uv=$(readlink -f "$candidate")
            return 0
        fi
    done
    echo "container: installing uv with pip into $venv" >&2
    # Debian's python3 makes venvs only with python3-venv, which brings ensurepip.
    if ! python3 -c 'import ensurepip' 2>/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    if ! { python3 -m venv "$venv" && "$venv/bin/pip" install -q uv; }; then
        _ct_error "could not install uv"
        return 1
    fi
    _ct_uv=$venv/bin/uv
}

_ct_is_elf() {
    [[ -f $1 && -x $1 && $(head -c 4 "$1" | od -An -c | tr -d ' ') == '177ELF' ]]
}

# Builds the rootfs unless the cache already holds one made from the same package list.
# The build goes to a temporary directory that is renamed into place only when complete, so
# an interrupted build is never booted; a lock keeps two runs from building at once.
_ct_ensure_rootfs() {
    local rootfs=$CONTAINER_CACHE/rootfs lock
    mkdir -p "$CONTAINER_CACHE/uv" || return 1
    exec {lock}>"$CONTAINER_CACHE/.lock"
    if ! flock --timeout 600 "$lock"; then
        _ct_error "another run held $CONTAINER_CACHE/.lock (building the rootfs?) for 10 minutes"
        exec {lock}>&-
        return 1
    fi
    if [[ $(cat "$rootfs/$_CT_STAMP" 2>/dev/null) != "$_CT_PACKAGES" ]]; then
        _ct_build_rootfs "$rootfs"
    fi
    local rc=$?
    exec {lock}>&-
    return $rc
}

_ct_build_rootfs() {
    local rootfs=$1 new=$1.new old=$1.old mirror started=$SECONDS
    rm -rf --one-file-system "$new" "$old"
    # The mirror the host's apt uses for bookworm, so the rootfs comes from wherever this
    # machine fetches its packages; empty means debootstrap's default.
    # shellcheck disable=SC2016 # $(REPO_URI) is apt's placeholder, not a shell expansion
    mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Release: bookworm' 'Component: main' \
        'Created-By: Packages' 2>/dev/null | head -n 1)
    echo "container: building the bookworm rootfs in $rootfs (about 2 minutes, once)" >&2
    # debootstrap mounts /proc and /sys inside the target; in a private mount namespace those
    # mounts cannot outlive it, even when the build is interrupted. --pdeathsig: it stops
    # when this shell is killed, rather than building on for nobody. A stalled download
    # ends the build after 20 minutes.
    if ! setpriv --pdeathsig TERM -- unshare --mount --propagation private \
        timeout --foreground 1200 debootstrap --variant=minbase --include="$_CT_PACKAGES" bookworm "$new" \
        ${mirror:+"$mirror"} >"$CONTAINER_CACHE/debootstrap.log" 2>&1; then
        tail -n 20 "$CONTAINER_CACHE/debootstrap.log" >&2
        _ct_error "debootstrap failed or ran out of its 20 minutes; full log in $CONTAINER_CACHE/debootstrap.log"
        return 1
    fi
    _ct_configure_rootfs "$new" || { _ct_error "could not configure $new"; return 1; }
    echo "$_CT_PACKAGES" >"$new/$_CT_STAMP"
    if [[ -d $rootfs ]]; then mv "$rootfs" "$old"; fi
    mv "$new" "$rootfs" && rm -rf --one-file-system "$old"
    echo "container: rootfs built in $((SECONDS - started)) s" >&2
}

# Trims the fresh rootfs and makes every boot of it quiet and alike.
_ct_configure_rootfs() {
    local root=$1
    chroot "$root" apt-get clean &&
        rm -rf "$root"/var/lib/apt/lists/* &&
        echo sitewarden-e2e >"$root/etc/hostname" &&
        # An empty machine-id gives each boot a fresh one; dbus keeps a copy that systemd
        # would otherwise adopt.
        : >"$root/etc/machine-id" &&
        rm -f "$root/var/lib/dbus/machine-id" &&
        # Periodic jobs would only compete with the test for the CPU.
        systemctl --root="$root" --quiet disable apt-daily.timer apt-daily-upgrade.timer \
            dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer
}

# Prints, one per line, the cgroup directories of this shell in the hierarchies nspawn
# writes to: name=systemd and the unified one on a hybrid host (as here), /sys/fs/cgroup
# itself on a unified-only host.
_ct_cgroup_parents() {
    local v1 v2
    v1=$(sed -n 's/^[0-9]*:name=systemd://p' /proc/self/cgroup)
    v2=$(sed -n 's/^0:://p' /proc/self/cgroup)
    if [[ $(stat -fc %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]]; then
        echo "/sys/fs/cgroup${v2%/}"
        return
    fi
    if [[ -n $v1 && $(stat -fc %T /sys/fs/cgroup/systemd 2>/dev/null) == cgroupfs ]]; then
        echo "/sys/fs/cgroup/systemd${v1%/}"
    fi
    if [[ $(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]]; then
        echo "/sys/fs/cgroup/unified${v2%/}"
    fi
}

# Boots the container and waits, bounded, until its systemd has finished booting.
container_boot() {
    local rootfs=$CONTAINER_CACHE/rootfs parent name
    [[ -z $_ct_leader ]] || { _ct_error "a container is already running"; return 1; }
    $_ct_prepared || { _ct_error "run container_prepare_host first"; return 1; }
    trap 'container_shutdown' EXIT
    trap '_ct_signalled SIGINT 130' INT
    trap '_ct_signalled SIGTERM 143' TERM
    trap '_ct_signalled SIGHUP 129' HUP

    _ct_sweep_stale
    _ct_work=$(mktemp -d /tmp/sitewarden-e2e.XXXXXX) || return 1
    name=sitewarden-e2e-${_ct_work##*.}
    while read -r parent; do
        mkdir "$parent/$name" || return 1
        _ct_cgroups+=("$parent/$name")
    done < <(_ct_cgroup_parents)

    _ct_start_notify_listener || return 1
    _ct_start_nspawn "$rootfs" "$name"
    _ct_wait_ready
}

_ct_signalled() {
    _ct_error "$1 received; tearing down"
    exit "$2"
}

# A run killed outright (SIGKILL) cannot tear down: its container halts by itself (see
# _ct_start_nspawn), but its empty cgroups and scratch directory stay. Removes those; a
# cgroup that still holds processes belongs to a live run and cannot be removed.
_ct_sweep_stale() {
    local parent cgroup
    while read -r parent; do
        for cgroup in "$parent"/sitewarden-e2e-*; do
            if [[ -d $cgroup ]] && _ct_remove_cgroup "$cgroup"; then
                echo "container: removed $cgroup, left by an earlier run" >&2
                rm -rf "/tmp/sitewarden-e2e.${cgroup##*-}"
            fi
        done
    done < <(_ct_cgroup_parents)
}

# Removes a cgroup and the ones nested in it, innermost first as rmdir requires; fails if
# any is left (because it still holds processes).
_ct_remove_cgroup() {
    find "$1" -depth -type d -exec rmdir {} + 2>/dev/null
    [[ ! -d $1 ]]
}

# Listens on $_ct_work/notify.sock for nspawn's datagrams; when READY=1 has arrived, writes
# the X_NSPAWN_LEADER_PID value to $_ct_work/leader and exits. Every datagram is logged to
# $_ct_work/notify.log. Gives up after CONTAINER_BOOT_TIMEOUT seconds.
_ct_start_notify_listener() {
    local deadline=$((SECONDS + 5))
    python3 -c '
import os, socket, sys, time
path, leader_file, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
deadline = time.monotonic() + timeout
leader, ready = None, False
while not (leader and ready):
    sock.settimeout(max(deadline - time.monotonic(), 0.001))
    try:
        message = sock.recv(4096).decode(errors="replace")
    except socket.timeout:
        sys.exit("notify listener: no READY=1 with X_NSPAWN_LEADER_PID after %gs" % timeout)
    for line in message.splitlines():
        print(line, flush=True)
        ready = ready or line == "READY=1"
        if line.startswith("X_NSPAWN_LEADER_PID="):
            leader = line.partition("=")[2]
with open(leader_file + ".tmp", "w") as f:
    f.write(leader)
os.rename(leader_file + ".tmp", leader_file)
' "$_ct_work/notify.sock" "$_ct_work/leader" "$CONTAINER_BOOT_TIMEOUT" >"$_ct_work/notify.log" 2>&1 &
    _ct_listener_pid=$!
    until [[ -S $_ct_work/notify.sock ]]; do
        if ((SECONDS >= deadline)) || ! kill -0 "$_ct_listener_pid" 2>/dev/null; then
            cat "$_ct_work/notify.log" >&2
            _ct_error "the notify listener did not bind $_ct_work/notify.sock within 5 s"
            return 1
        fi
        sleep 0.05
    done
}

# Starts systemd-nspawn in the background: in a private mount namespace over a private /run,
# inside this container's cgroups. --pdeathsig: should this shell be killed outright, nspawn
# gets SIGTERM and halts the container rather than leaving it running.
_ct_start_nspawn() {
    local rootfs=$1 name=$2 binds=() path
    if [[ -n $_ct_uv ]]; then
        binds+=(--bind-ro="$_ct_uv":/usr/local/bin/uv --bind="$CONTAINER_CACHE/uv":/var/cache/uv)
    fi
    if [[ -f $_CT_CA_BUNDLE ]]; then binds+=(--bind-ro="$_CT_CA_BUNDLE"); fi
    for path in "${_ct_binds_ro[@]}"; do binds+=(--bind-ro="$path"); done
    # The launcher joins the cgroups before exec'ing nspawn, so that nspawn creates its
    # payload/ and supervisor/ cgroups inside ours. mount -n: leave the host's mtab alone.
    # shellcheck disable=SC2016 # expanded by the launcher's sh, not here
    local launcher='
        while [ "$1" != -- ]; do echo $$ >"$1/cgroup.procs" || exit 1; shift; done; shift
        mount -n -t tmpfs -o mode=755 tmpfs /run || exit 1
        exec "$@"'
    NOTIFY_SOCKET=$_ct_work/notify.sock setpriv --pdeathsig TERM -- \
        unshare --mount --propagation private -- sh -c "$launcher" launcher "${_ct_cgroups[@]}" -- \
        systemd-nspawn --register=no --keep-unit --boot --console=passive --notify-ready=yes \
        --directory="$rootfs" --volatile=overlay --machine="$name" --resolv-conf=copy-host \
        "${binds[@]}" systemd.firstboot=off \
        </dev/null >"$_ct_work/console.log" 2>&1 &
    _ct_nspawn_pid=$!
}

# Waits until the listener saw READY=1, or fails early when nspawn or the listener gave up;
# on failure prints what it was waiting for, the notify messages and the console.
_ct_wait_ready() {
    local deadline=$((SECONDS + CONTAINER_BOOT_TIMEOUT + 2)) problem=""
    until [[ -s $_ct_work/leader ]]; do
        if ! kill -0 "$_ct_nspawn_pid" 2>/dev/null; then
            problem="systemd-nspawn exited before the container was ready"
        elif ! kill -0 "$_ct_listener_pid" 2>/dev/null || ((SECONDS >= deadline)); then
            problem="no READY=1 from systemd-nspawn within ${CONTAINER_BOOT_TIMEOUT} s"
        fi
        if [[ -n $problem ]]; then
            _ct_error "boot failed: $problem (waiting for READY=1 on $_ct_work/notify.sock)"
            sed 's/^/  notify: /' "$_ct_work/notify.log" >&2
            tail -n 30 "$_ct_work/console.log" | sed 's/^/  console: /' >&2
            return 1
        fi
        sleep 0.05
    done
    _ct_leader=$(cat "$_ct_work/leader")
}

# Runs a command inside the container as root, with a clean environment, bounded by
# CONTAINER_CMD_TIMEOUT. Its exit code, stdin, stdout and stderr are its own.
in_container() {
    [[ -n $_ct_leader ]] || { _ct_error "in_container: no container is running"; return 125; }
    local rc=0
    nsenter --target "$_ct_leader" --all \
        env -i "${_CT_ENV[@]}" timeout --kill-after=10 "$CONTAINER_CMD_TIMEOUT" "$@" || rc=$?
    if ((rc == 124)); then _ct_error "in_container: timed out after ${CONTAINER_CMD_TIMEOUT} s: $*"; fi
    return "$rc"
}

# Copies a host file to a path in the container, creating parent directories; the mode is
# the source's unless given.
container_copy() {
    local src=$1 dest=$2 mode=${3:-}
    [[ -f $src ]] || { _ct_error "container_copy: no such file: $src"; return 1; }
    if [[ -z $mode ]]; then mode=$(stat -c %a "$src"); fi
    in_container install -D -m "$mode" /dev/stdin "$dest" <"$src"
}

# Halts the container and removes everything it had on the host. Idempotent, and safe at
# any point of a failed boot. Fails, naming what was left, if anything could not be removed.
container_shutdown() {
    local left=()
    if [[ -n $_ct_nspawn_pid ]] && kill -0 "$_ct_nspawn_pid" 2>/dev/null; then
        # nspawn turns SIGTERM into an orderly halt of the container.
        kill -TERM "$_ct_nspawn_pid"
        if ! _ct_wait_gone "$_ct_nspawn_pid" "$CONTAINER_STOP_TIMEOUT"; then
            _ct_error "container did not halt within ${CONTAINER_STOP_TIMEOUT} s; killing it"
            # Killing the container's PID 1 kills its whole pid namespace.
            if [[ -n $_ct_leader ]]; then kill -KILL "$_ct_leader" 2>/dev/null; fi
            kill -KILL "$_ct_nspawn_pid" 2>/dev/null
            _ct_wait_gone "$_ct_nspawn_pid" 10 || left+=("systemd-nspawn pid $_ct_nspawn_pid")
        fi
    fi
    if [[ -n ${_ct_listener_pid:-} ]]; then
        kill "$_ct_listener_pid" 2>/dev/null
        wait "$_ct_listener_pid" 2>/dev/null
    fi
    local cgroup
    for cgroup in "${_ct_cgroups[@]}"; do
        _ct_remove_cgroup "$cgroup" || left+=("cgroup $cgroup")
    done
    if [[ -n $_ct_work ]]; then rm -rf "$_ct_work"; fi
    _ct_work="" _ct_nspawn_pid="" _ct_leader="" _ct_listener_pid="" _ct_cgroups=()
    if ((${#left[@]})); then
        _ct_error "left behind: ${left[*]}"
        return 1
    fi
}

_ct_wait_gone() {
    local pid=$1 deadline=$((SECONDS + $2))
    while kill -0 "$pid" 2>/dev/null; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}
