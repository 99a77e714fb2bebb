# shellcheck shell=bash
# TAP-style reporting shared by the end-to-end suites: `ok`/`not ok` lines, `# step` headings,
# and one summary line `e2e: N passed, M failed` that Tests/run-all.sh reads.
#
# The sourcing script sets `passed=0 failed=0` and defines `finish [REASON]`, which tears down
# what it started, prints the summary and exits.

step() {
    printf '\n# step %s\n' "$*"
}

# check DESCRIPTION CMD...: runs CMD and reports it as one test.
check() {
    local what=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
        echo "ok - $what"
    else
        failed=$((failed + 1))
        echo "not ok - $what"
        return 1
    fi
}

# require DESCRIPTION CMD...: a check that later steps cannot do without.
require() {
    check "$@" || finish "the steps after this one depend on it"
}

# Containers cannot run here: skip loudly (exit 77, which Tests/run-all.sh reports as skipped),
# or fail under CI, where a skip would hide it.
skip_or_fail() {
    if [[ ${CI:-} == true ]]; then
        echo "not ok - e2e prerequisites: $1"
        echo "e2e: 0 passed, 1 failed"
        exit 1
    fi
    echo "SKIP: $1"
    echo "e2e: 0 passed, 0 failed, 1 skipped"
    exit 77
}
