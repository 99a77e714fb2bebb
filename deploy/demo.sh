#!/usr/bin/env bash
# The main job on the real case: sets up this machine (Debian 12, root), builds sitewarden, and
# runs the tunely 0.2.3 incident under real systemd in a throwaway container, narrated: venv from
# PyPI, as-dispatch.service serving /api/info, sitewarden's baseline, server.py truncated to 562
# lines (/api/info 404), and sitewarden restoring it, restarting the unit and /api/info 200 again,
# as `systemctl status` and `journalctl -u sitewarden -x` show it. Prints the time from damage
# to recovery.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash deploy/setup-dev.sh
swift build -c release --static-swift-stdlib
SITEWARDEN_BIN="$repo/.build/release/sitewarden" exec bash Tests/e2e/incident.sh --demo
