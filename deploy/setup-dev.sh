#!/usr/bin/env bash
# Installs what building and testing sitewarden needs on Debian 12 (run as root).
# Idempotent: installs only what is missing. The Swift toolchain itself is not a Debian
# package; see the README for where to get it.
set -euo pipefail

packages=(
    libsystemd-dev        # sd-daemon, sd-journal, sd-bus
    libcurl4-openssl-dev  # route probes
    libssl-dev            # SHA-256 (libcrypto)
    libtomlplusplus-dev   # TOML configuration (header-only C++)
    pkg-config
    systemd               # systemd-analyze, journalctl, the journald the tests start
    systemd-container     # systemd-nspawn for tests under real systemd
    debootstrap           # the container's root filesystem
    curl
    python3
    python3-pip
    python3-jsonschema    # checks docs/*.schema.json and the --json documents (CommandLineTests)
)

missing=()
for package in "${packages[@]%% *}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v uv >/dev/null; then
    echo "setup: installing uv"
    python3 -m pip install -q uv 2>/dev/null || python3 -m pip install -q --break-system-packages uv
fi

command -v swift >/dev/null || {
    echo "setup: no Swift toolchain on PATH; see README.md, 'Getting a Swift toolchain'" >&2
    exit 1
}
