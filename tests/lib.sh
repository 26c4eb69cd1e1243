# lib.sh - sourced by tests/cli_*.sh (and, for cact_find_data, by tests/run-tests.sh).
# Each check counts once; finish with `summary NAME`.
# Environment from tests/run-tests.sh: CA_BIN (binary), CA_DATA (the real dataset's
# directory, found by cact_find_data), CA_BUILD, CA_ROOT.
set -u

# cact_find_data ROOT: print the directory holding the real CIFAR-10 test set
# (cifar-10-batches-bin/test_batch.bin) by the one rule every test uses:
# $CIFAR_ACT_DATA, then ROOT/data (where the README's quick start puts it), then
# ROOT/../shared. Prints nothing and fails if none has it.
cact_find_data() {
    local root=$1 d
    for d in "${CIFAR_ACT_DATA:-}" "$root/data" "$root/../shared"; do
        if [ -n "$d" ] && [ -f "$d/cifar-10-batches-bin/test_batch.bin" ]; then
            (cd "$d" && pwd)
            return 0
        fi
    done
    return 1
}
[ -n "${CA_LIB_RULE_ONLY:-}" ] && return 0
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

# tb_start LOG TENSORBOARD ARGS...: start a TensorBoard server (the venv's executable and
# its arguments; give it --host 127.0.0.1 --port 0) writing to LOG, and wait up to 60 s
# for the URL it serves on. Sets TB_PID and TB_URL ("" if it did not start: it died or
# never said; LOG then says why). tb_stop ends it; the EXIT trap should call tb_stop.
TB_PID="" TB_URL=""
tb_start() {
    local log=$1
    shift
    "$@" >"$log" 2>&1 &
    TB_PID=$! TB_URL=""
    for _ in $(seq 1 300); do
        TB_URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" | head -n 1)
        [ -n "$TB_URL" ] && return 0
        kill -0 "$TB_PID" 2>/dev/null || break
        sleep 0.2
    done
    return 1
}
tb_stop() {
    if [ -n "$TB_PID" ]; then
        kill "$TB_PID" 2>/dev/null
        wait "$TB_PID" 2>/dev/null
        TB_PID=""
    fi
}

summary() {
    echo "$1: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
