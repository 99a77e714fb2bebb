#!/usr/bin/env bash
# Measures sitewarden's file verification against the hashing limits of this machine, on a real
# venv of about 40,000 files (numpy, pandas, scipy, botocore, django, sympy, matplotlib, ansible…).
#
# Usage (as root, Debian 12, Swift 6 on PATH):  bash bench/verify-bench.sh
#   BENCH_RUNS=N  repetitions of each measurement, the fastest is kept (default 3)
#
# Everything is hashed from a warm page cache, so the numbers are CPU costs: OpenSSL's SHA-256
# speed on one core, sha256sum over the same file list with one and two processes, the Python
# loop people write over every RECORD, a bare C loop (bench/hash-floor.c: open, read, EVP SHA-256,
# close, nothing else: what no verifier can beat here), and `sitewarden check` with workers=1 and
# workers=2 (no scan cache), then with the scan cache on the unchanged tree, against its own floor
# (bench/stat-floor.c: one lstat of every file and directory of the venv, on one and two threads),
# and the peak RSS of each check, of the first one with a scan cache, and of that one probing a route.
# The venv is kept in /var/cache/sitewarden-bench, so later runs skip the install.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=/var/cache/sitewarden-bench
venv=$root/venv
work=$root/run
runs=${BENCH_RUNS:-3}
packages=(tunely==0.2.3 numpy pandas scipy sqlalchemy botocore django sympy matplotlib ansible)

[ "$(id -u)" = 0 ] || { echo "run as root: the bench installs packages and drops caches" >&2; exit 1; }

# --- tools --------------------------------------------------------------------------------------
missing=()
[ -x /usr/bin/time ] || missing+=(time)
[ -f /usr/include/openssl/evp.h ] || missing+=(libssl-dev)
command -v cc >/dev/null || missing+=(gcc)
command -v openssl >/dev/null || missing+=(openssl)
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
command -v uv >/dev/null || python3 -m pip install -q uv || python3 -m pip install -q --break-system-packages uv

# --- build --------------------------------------------------------------------------------------
echo "building sitewarden (release)…" >&2
(cd "$repo" && swift build -c release --static-swift-stdlib >&2)
sitewarden=$repo/.build/release/sitewarden
floor=$root/hash-floor
cc -O2 -o "$floor" "$repo/bench/hash-floor.c" -lcrypto
stat_floor=$root/stat-floor
cc -O2 -pthread -o "$stat_floor" "$repo/bench/stat-floor.c"

# --- venv ---------------------------------------------------------------------------------------
if [ ! -f "$venv/.complete" ]; then
    echo "installing ${packages[*]} into $venv…" >&2
    rm -rf "$venv"
    mkdir -p "$root"
    uv venv -q --python /usr/bin/python3 "$venv" >&2
    # --link-mode=copy: the files are the venv's own, as on a server, not hardlinks into uv's cache.
    VIRTUAL_ENV=$venv uv pip install -q --link-mode=copy "${packages[@]}" >&2
    touch "$venv/.complete"
fi

# --- configuration and file list ----------------------------------------------------------------
rm -rf "$work"
mkdir -p "$work/state"
python3 - "$venv" "$work" <<'EOF'
import os, sys
venv, work = sys.argv[1], sys.argv[2]
site = next(os.path.join(venv, "lib", d, "site-packages") for d in os.listdir(os.path.join(venv, "lib")))
dists, files, total = [], [], 0
for entry in sorted(os.listdir(site)):
    if not entry.endswith(".dist-info"):
        continue
    name, version = entry[: -len(".dist-info")].rsplit("-", 1)
    dists.append((name, version))
    with open(os.path.join(site, entry, "RECORD"), newline="") as record:
        for line in record:
            path, digest, _ = line.rstrip("\r\n").rsplit(",", 2)
            if digest.startswith("sha256="):
                absolute = os.path.normpath(os.path.join(site, path))
                files.append(absolute)
                total += os.path.getsize(absolute)
with open(os.path.join(work, "files.list"), "wb") as out:
    out.write(b"".join(os.fsencode(f) + b"\0" for f in files))
with open(os.path.join(work, "files.stats"), "w") as out:
    out.write(f"{len(files)} {total} {len(dists)}\n")
for workers, rehash, name in [(1, 1, "w1"), (2, 1, "w2"), (2, 10, "cached"), (2, 10, "routed")]:
    with open(os.path.join(work, f"{name}.toml"), "w") as config:
        config.write(f'[daemon]\nstate_directory = "{work}/state"\nworkers = {workers}\nfull_rehash_every = {rehash}\n')
        for dist, version in dists:
            config.write(
                f'\n[[target]]\nname = "{dist}"\nvenv = "{venv}"\ndistribution = "{dist}"\n'
                f'version = "{version}"\nbackup = "{work}/backup/{dist}"\n'
            )
            # One probed route, as tunely's own target would have: the check then loads libcurl.
            if name == "routed" and dist == "tunely":
                config.write('\n[[target.route]]\nurl = "http://127.0.0.1:18461/"\n')
EOF
read -r nfiles nbytes ndists <"$work/files.stats"

cat >"$work/hashlib-loop.py" <<'EOF'
# The usual script: read every RECORD, hash every listed file, compare.
import base64, hashlib, os, sys
site = sys.argv[1]
bad = 0
for entry in os.listdir(site):
    if not entry.endswith(".dist-info"):
        continue
    with open(os.path.join(site, entry, "RECORD")) as record:
        for line in record:
            path, digest, _ = line.rstrip("\n").rsplit(",", 2)
            if not digest.startswith("sha256="):
                continue
            with open(os.path.join(site, path), "rb") as f:
                actual = base64.urlsafe_b64encode(hashlib.sha256(f.read()).digest()).rstrip(b"=").decode()
            bad += actual != digest[len("sha256="):]
print(bad, "mismatches", file=sys.stderr)
EOF
site=$(ls -d "$venv"/lib/python3*/site-packages)

# --- measuring ----------------------------------------------------------------------------------
# best SECONDS of $runs runs of a command (stdout discarded); "peak-RSS-KiB user-s sys-s" of the
# fastest run is left in $work/best.rss. $BENCH_BEFORE is evaluated before each run, untimed.
best() {
    local fastest="" start end seconds
    for _ in $(seq "$runs"); do
        [ -z "${BENCH_BEFORE:-}" ] || eval "$BENCH_BEFORE"
        start=$(date +%s%N)
        /usr/bin/time -f "%M %U %S" -o "$work/rss" "$@" >/dev/null 2>"$work/stderr" || [ $? = 1 ] || {
            cat "$work/stderr" >&2
            return 1
        }
        end=$(date +%s%N)
        seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
        if [ -z "$fastest" ] || awk -v s="$seconds" -v f="$fastest" 'BEGIN { exit !(s < f) }'; then
            fastest=$seconds
            cp "$work/rss" "$work/best.rss"
        fi
    done
    echo "$fastest"
}

echo "warming the page cache ($nfiles files, $((nbytes / 1000000)) MB)…" >&2
xargs -0 -n 1000 cat <"$work/files.list" >/dev/null
xargs -0 -n 1000 cat <"$work/files.list" >/dev/null

echo "measuring…" >&2
openssl_bps=$(openssl speed -evp sha256 -bytes 16384 -seconds 3 -mr 2>/dev/null | awk -F: '/^\+F:/ { print $4 }')
t_sum1=$(best sh -c "xargs -0 -P1 -n 1000 sha256sum <'$work/files.list'")
t_sum2=$(best sh -c "xargs -0 -P2 -n 250 sha256sum <'$work/files.list'")
t_py=$(best python3 "$work/hashlib-loop.py" "$site")
t_floor=$(best sh -c "'$floor' <'$work/files.list'")
# Parts of the floor: SHA-256 of every file from memory (no I/O), only open + close, and only the
# copy of every byte that a read makes (from memory, no system call).
read -r t_memhash t_open t_copy < <("$floor" parts <"$work/files.list")
# Every file and directory of the venv, as a check of the unchanged tree must lstat them.
find "$venv" -mindepth 1 -print0 >"$work/tree.list"
nstat=$(tr -cd '\0' <"$work/tree.list" | wc -c)
t_stat1=$(best sh -c "'$stat_floor' 1 <'$work/tree.list'")
t_stat2=$(best sh -c "'$stat_floor' 2 <'$work/tree.list'")
BENCH_BEFORE="rm -rf '$work/state/scan-cache'"
t_w1=$(best "$sitewarden" --config "$work/w1.toml" check)
rss_w1=$(tr " " , <"$work/best.rss")
t_w2=$(best "$sitewarden" --config "$work/w2.toml" check)
rss_w2=$(tr " " , <"$work/best.rss")
BENCH_BEFORE=""
# The first check with the scan cache hashes everything and writes the cache and the snapshot:
# the default configuration's heaviest check.
rm -rf "$work/state/scan-cache"
/usr/bin/time -f "%M %U %S" -o "$work/first.rss" "$sitewarden" --config "$work/cached.toml" check \
    >"$work/check-full.txt" 2>/dev/null || true
rss_first=$(tr " " , <"$work/first.rss")
# The same with one probed route (a local HTTP server), which loads libcurl: the heaviest check.
python3 -m http.server 18461 --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    python3 -c 'import socket; socket.create_connection(("127.0.0.1", 18461), 0.1)' 2>/dev/null && break
    sleep 0.1
done
rm -rf "$work/state/scan-cache"
/usr/bin/time -f "%M %U %S" -o "$work/routed.rss" "$sitewarden" --config "$work/routed.toml" check \
    >"$work/check-routed.txt" 2>/dev/null || true
grep -q "route:   ok" "$work/check-routed.txt" || { echo "the routed check did not probe:" >&2; cat "$work/check-routed.txt" >&2; exit 1; }
kill $server 2>/dev/null || true
rss_routed=$(tr " " , <"$work/routed.rss")
t_fast=$(best "$sitewarden" --config "$work/cached.toml" check)
rss_fast=$(tr " " , <"$work/best.rss")
"$sitewarden" --config "$work/cached.toml" check >"$work/check-fast.txt" || true

# --- report -------------------------------------------------------------------------------------
python3 - "$nfiles" "$nbytes" "$ndists" "$openssl_bps" "$t_sum1" "$t_sum2" "$t_py" "$t_w1" "$t_w2" "$t_fast" \
    "$rss_w1" "$rss_w2" "$rss_fast" "$work/check-fast.txt" "$t_floor" "$t_stat1" "$t_stat2" "$nstat" "$rss_first" "$t_memhash" "$t_open" "$rss_routed" "$t_copy" <<'EOF'
import sys
n, size, dists = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
openssl = float(sys.argv[4])
sum1, sum2, py, w1, w2, fast = map(float, sys.argv[5:11])
measured = [x.split(",") for x in sys.argv[11:14]]
rss = [int(m[0]) for m in measured]
cpu = [float(m[1]) + float(m[2]) for m in measured]
result = open(sys.argv[14]).read().strip().splitlines()[-1]
floor = float(sys.argv[15])
stat1, stat2, nstat = float(sys.argv[16]), float(sys.argv[17]), int(sys.argv[18])
rss_first = int(sys.argv[19].split(",")[0])
memhash, opening = float(sys.argv[20]), float(sys.argv[21])
rss_routed = int(sys.argv[22].split(",")[0])
copying = float(sys.argv[23])
mb = size / 1e6
print(f"\n{n} files, {mb:.0f} MB, {dists} distributions; fastest of the runs, warm page cache\n")
print(f"| {'measurement':<44} | {'seconds':>8} | {'MB/s':>7} | {'files/s':>9} |")
print(f"|{'-' * 46}|{'-' * 10}|{'-' * 9}|{'-' * 11}|")
def row(name, seconds):
    print(f"| {name:<44} | {seconds:8.3f} | {mb / seconds:7.0f} | {n / seconds:9.0f} |")
print(f"| {'openssl speed -evp sha256 (16 KiB blocks, 1 core)':<44} | {'':>8} | {openssl / 1e6:7.0f} | {'':>9} |")
row("sha256sum, xargs -P1", sum1)
row("sha256sum, xargs -P2", sum2)
row("Python hashlib loop over every RECORD", py)
row("C floor: open, read, EVP SHA-256, close", floor)
row("  its SHA-256 alone, from memory (no I/O)", memhash)
print(f"| {'  its open + close alone':<44} | {opening:8.3f} | {'':>7} | {n / opening:9.0f} |")
row("  its copy of every byte, from memory", copying)
row("sitewarden check, workers=1, no cache", w1)
row("sitewarden check, workers=2, no cache", w2)
row("sitewarden check, scan cache, unchanged tree", fast)
print(f"| {'stat floor: lstat of every entry, 1 thread':<44} | {stat1:8.3f} | {'':>7} | {nstat / stat1:9.0f} |")
print(f"| {'stat floor: lstat of every entry, 2 threads':<44} | {stat2:8.3f} | {'':>7} | {nstat / stat2:9.0f} |")
print(f"\nCPU time (user+sys) of sitewarden check: workers=1 {cpu[0]:.2f} s, workers=2 {cpu[1]:.2f} s, "
      f"cached {cpu[2]:.2f} s")
print(f"peak RSS of sitewarden check: workers=1 {rss[0] * 1024 / 1e6:.1f} MB, workers=2 {rss[1] * 1024 / 1e6:.1f} MB, "
      f"cached {rss[2] * 1024 / 1e6:.1f} MB; first check with the scan cache (writes it and the snapshot) "
      f"{rss_first * 1024 / 1e6:.1f} MB, the same with one probed route (loads libcurl) {rss_routed * 1024 / 1e6:.1f} MB")
print(f"sitewarden check on the unchanged tree said: {result}\n")
def target(name, value, goal, met):
    print(f"{name:<36} {value:>8}   target {goal:<8} {'met' if met else 'MISSED'}")
r1 = (size / w1) / openssl
target("workers=1 vs OpenSSL limit", f"{r1:.0%}", ">= 75%", r1 >= 0.75)
target("workers=1 vs Python loop", f"{py / w1:.2f}x", ">= 2x", py / w1 >= 2)
# What no verifier can beat here: the bare loop, one core, nothing but the reads and the hashing.
print(f"{'  (C floor vs OpenSSL limit':<36} {(size / floor) / openssl:>8.0%}   the most any one-core verifier reaches here)")
print(f"{'  (C floor vs Python loop':<36} {py / floor:>7.2f}x   likewise)")
# Even with every system call but open and close free: each file must be opened, closed and
# hashed, and its bytes copied out of the page cache once.
bound = memhash + opening + copying
print(f"{'  (hash + open/close + copy vs OpenSSL':<36} {(size / bound) / openssl:>8.0%}   the most even with read() itself free)")
print(f"{'  (hash + open/close + copy vs Python':<36} {py / bound:>7.2f}x   likewise)")
print(f"{'  (workers=1 vs C floor':<36} {floor / w1:>8.0%}   sitewarden's own overhead)")
target("workers=2 vs workers=1", f"{w1 / w2:.2f}x", ">= 1.7x", w1 / w2 >= 1.7)
print(f"load average (1 min) at the end: {open('/proc/loadavg').read().split()[0]} on {__import__('os').cpu_count()} cores")
target("full (workers=2) vs scan cache", f"{w2 / fast:.1f}x", ">= 20x", w2 / fast >= 20)
# What no stat-based check of the unchanged tree can beat: one lstat of each of the venv's entries.
print(f"{'  (full vs stat floor, 2 threads':<36} {w2 / stat2:>7.1f}x   the most any stat-based check reaches here)")
print(f"{'  (stat floor vs scan cache':<36} {stat2 / fast:>8.0%}   sitewarden\'s cached check against that floor)")
peak = max(rss + [rss_first, rss_routed]) * 1024 / 1e6
target("peak RSS (every check above)", f"{peak:.1f} MB", "<= 30 MB", peak <= 30)
EOF
