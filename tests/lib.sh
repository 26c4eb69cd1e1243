# lib.sh - sourced by tests/cli_*.sh. Each check counts once; finish with `summary NAME`.
# Environment from tests/run-tests.sh: CA_BIN (binary), CA_SHARED (../shared), CA_BUILD.
set -u
PASSED=0
FAILED=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cifar-act-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

pass() { PASSED=$((PASSED + 1)); }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }

# expect_exit CODE NAME -- CMD...: run CMD, stdout/stderr into $TMP/out, $TMP/err.
expect_exit() {
    local want=$1 name=$2; shift 3
    "$@" >"$TMP/out" 2>"$TMP/err"
    local got=$?
    if [ "$got" -eq "$want" ]; then pass; else
        fail "$name: exit $got, wanted $want; stderr: $(head -c 400 "$TMP/err")"; fi
}

# expect_grep NAME PATTERN FILE: FILE must contain the extended regex PATTERN.
expect_grep() {
    if grep -Eq -- "$2" "$3"; then pass; else
        fail "$1: /$2/ not in $3: $(head -c 400 "$3")"; fi
}

# expect_true NAME -- CMD...: CMD must succeed.
expect_true() {
    local name=$1; shift 2
    if "$@"; then pass; else fail "$name"; fi
}

summary() {
    echo "$1: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
