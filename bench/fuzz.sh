#!/usr/bin/env bash
# Builds libFuzzer targets for the RECORD parser and the configuration loader and runs each.
#
#   bash bench/fuzz.sh [SECONDS] [TARGET...]      TARGET: record, config (default: both)
#
# SECONDS (default 120, or $FUZZ_SECONDS) is each target's run time. Each target is SitewardenCore's
# own sources plus its entry point in Tests/Fuzz/, compiled by swiftc as one module with
# -sanitize=fuzzer,address; CTOMLBridge (C++ over toml++) is compiled by clang++ with the same
# sanitizers. Corpora live in bench/fuzz-corpus/<target> (seeded from the real tunely RECORD and
# config.example.toml), crashes in bench/fuzz-crashes/<target>; both are gitignored. A crash input
# belongs in a regression test under Tests/ before it is fixed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-${FUZZ_SECONDS:-120}}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(record config)
build=$root/.build/fuzz
tunely_record=${SITEWARDEN_TUNELY_VENV:-/var/tmp/sitewarden-fixtures/tunely-0.2.3}/lib/python3.11/site-packages/tunely-0.2.3.dist-info/RECORD
mkdir -p "$build/CTOMLBridge"

# SwiftPM makes a module map for a C target's include/ directory; outside SwiftPM we write one.
cat >"$build/CTOMLBridge/module.modulemap" <<EOF
module CTOMLBridge {
    header "$root/Sources/CTOMLBridge/include/CTOMLBridge.h"
    export *
}
EOF
clang++ -std=c++17 -g -O1 -fsanitize=fuzzer-no-link,address -DTOML_HEADER_ONLY=1 \
    -I"$root/Sources/CTOMLBridge/include" -c "$root/Sources/CTOMLBridge/bridge.cpp" -o "$build/bridge.o"

build_target() {
    local name=$1 entry=$2
    mapfile -t sources < <(find "$root/Sources/SitewardenCore" -name '*.swift' | sort)
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name SitewardenCore \
        -I "$root/Sources/CSystemd" -I "$root/Sources/CCurl" -I "$root/Sources/CCrypto" -I "$build/CTOMLBridge" \
        "${sources[@]}" "$root/Tests/Fuzz/$entry" "$build/bridge.o" -lstdc++ \
        -o "$build/$name-fuzz" >"$build/$name-build.log" 2>&1 || {
        # ld.gold warns about every ASan helper symbol; only a failure's output is worth showing.
        grep -v "Cannot export local symbol" "$build/$name-build.log" >&2
        exit 1
    }
}

seed() {
    local name=$1 corpus=$2
    mkdir -p "$corpus"
    case $name in
    record)
        if [ -f "$tunely_record" ]; then cp "$tunely_record" "$corpus/tunely-0.2.3-RECORD"; fi
        printf 'pkg/__init__.py,sha256=AAAA,22\n"quoted,path.py",,\n' >"$corpus/small-RECORD"
        ;;
    config) cp "$root/config.example.toml" "$corpus/config.example.toml" ;;
    esac
}

for name in "${targets[@]}"; do
    case $name in
    record) entry=RecordFuzz.swift ;;
    config) entry=ConfigFuzz.swift ;;
    *) echo "unknown fuzz target '$name' (record, config)" >&2 && exit 64 ;;
    esac
    corpus=$root/bench/fuzz-corpus/$name
    crashes=$root/bench/fuzz-crashes/$name
    mkdir -p "$crashes"
    build_target "$name" "$entry"
    seed "$name" "$corpus"
    echo "== $name: ${seconds}s, corpus $corpus, crashes in $crashes"
    # Keeps going after a crash (-fork with -ignore_crashes) so one defect does not hide the next.
    "$build/$name-fuzz" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$crashes/" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 \
        -ignore_ooms=1 "$corpus" 2>&1 | tee "$build/$name.log" | grep -E '^(INFO: |#[0-9]+.*(DONE|INITED)|==|stat::|.*(crash|Test unit written|deadly|ERROR))' || true
    echo "== $name: $(ls "$crashes" | wc -l) crash file(s) in $crashes"
done
