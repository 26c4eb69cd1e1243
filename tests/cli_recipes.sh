#!/bin/bash
# cli_recipes.sh - the README's "Many runs" recipes, checked as far as they can be
# without a cluster, and run for real on this machine:
# - tools/slurm-array.sh: bash -n; its #SBATCH lines (above the first command, known
#   options, values of the right form); its one cifar-act line run once per task id
#   of its --array, concurrently, with the SLURM_* variables sbatch sets;
# - tools/k8s-indexed-job.yaml: parsed (Debian's python3-yaml), the fields an Indexed
#   Job needs, --shard auto/N with N = completions, --data/--out on mounted volumes;
#   its command run once per JOB_COMPLETION_INDEX, one after the other, last first;
# - every `parallel` line of "Many runs" run by GNU parallel (CI installs it; without
#   it that part says SKIP, and fails under CI=true).
# Each sharded result must equal the unsharded run of the same command (the line
# without --shard): the same manifest.json and index.html, the same files, the same
# decoded pixels, the same TensorBoard records (tests/recipes.py same). --data is
# replaced by the real set, --out/--logdir by temporary directories, the cluster
# recipes get --max-batches 12 (the parallel lines run the whole test set), and every
# run is under `unshare -n`: nothing here can reach a network.
. "$(dirname "$0")/lib.sh"
ROOT=$CA_ROOT
DATA=${CA_DATA:-$(cact_find_data "$ROOT")}
DATA=$(cd "$DATA" && pwd)
case $CA_BUILD in /*) B=$CA_BUILD ;; *) B=$ROOT/$CA_BUILD ;; esac
export PNGDIFF=$B/tests/pngdiff
PY=/usr/bin/python3
RECIPES=$ROOT/tests/recipes.py
SLURM=$ROOT/tools/slurm-array.sh
K8S=$ROOT/tools/k8s-indexed-job.yaml
mkdir -p "$TMP/bin" "$TMP/home"
ln -s "$CA_BIN" "$TMP/bin/cifar-act"
# cifar-act on PATH is the binary under test; GNU parallel keeps its state in ~/.parallel.
export PATH="$TMP/bin:$PATH" HOME=$TMP/home
unset CIFAR_ACT_DATA JOB_COMPLETION_INDEX
for v in $(compgen -e SLURM_); do unset "$v"; done
if unshare -n true 2>/dev/null; then NONET="unshare -n"; else
    fail "unshare -n is not available (util-linux, root or user namespaces): not running"
    summary cli_recipes; exit 1
fi

# rewrite LINE [OUT LOGDIR]: LINE with the real data (as cli_readme.sh replaces
# --data) and, if given, OUT and LOGDIR, so a recipe's cluster paths become this
# machine's. The README's parallel lines keep theirs (relative, out/{1}: they run in
# a directory of their own).
rewrite() {
    local e=(-e "s#--data(=| +)[^ ]+#--data '$DATA'#g")
    [ -n "${2:-}" ] && e+=(-e "s#--out(=| +)[^ ]+#--out '$2'#g")
    [ -n "${3:-}" ] && e+=(-e "s#--logdir(=| +)[^ ]+#--logdir '$3'#g")
    printf '%s' "$1" | sed -E "${e[@]}"
}
# same NAME A B [LOGA LOGB]: the sharded result A equals the unsharded B.
same() {
    local name=$1; shift
    if "$PY" "$RECIPES" same "$@" >"$TMP/same.out" 2>"$TMP/same.err"; then
        pass; echo "$name: $(cat "$TMP/same.out")"
    else fail "$name: $(head -c 600 "$TMP/same.err")"; fi
}
# merged NAME OUT LOGDIR: no shard leftovers (parts, shard event files) after the merge.
merged() {
    local left
    left=$(cd "$2" && ls -A | grep -E '^manifest\.part-|^\.' ; cd "$3" && ls -A | grep -v '^events\.out\.tfevents\.')
    if [ -z "$left" ]; then pass; else fail "$1: left after the merge: $left"; fi
    expect_true "$1: one event file" -- test "$(ls "$3" | grep -c '^events\.out\.tfevents\.')" -eq 1
}

# ---- Slurm ----
S=$TMP/slurm
mkdir -p "$S"
expect_true "bash -n $SLURM" -- bash -n "$SLURM"
expect_exit 0 "sbatch directives" -- "$PY" "$RECIPES" sbatch "$SLURM"
read -r -a ids <"$TMP/out"
expect_exit 0 "slurm body" -- "$PY" "$RECIPES" sbatch-cmd "$SLURM"
line=$(cat "$TMP/out")
if [ "${#ids[@]}" -ge 2 ] && [ -n "$line" ]; then
    cmd="$(rewrite "$line" "$S/out" "$S/logs") --max-batches 12"
    ref="$(rewrite "${line/--shard auto/}" "$S/ref" "$S/reflogs") --max-batches 12"
    expect_exit 0 "slurm: the unsharded run" -- env SLURM_CPUS_PER_TASK=1 \
        timeout -k 2 120 $NONET bash -c "$ref"
    # What sbatch sets for each task of the array (man sbatch, OUTPUT ENVIRONMENT).
    min=${ids[0]} max=${ids[-1]} pids=()
    for id in "${ids[@]}"; do
        env SLURM_JOB_ID=$((4200 + id)) SLURM_ARRAY_JOB_ID=4200 SLURM_ARRAY_TASK_ID=$id \
            SLURM_ARRAY_TASK_MIN=$min SLURM_ARRAY_TASK_MAX=$max \
            SLURM_ARRAY_TASK_COUNT=${#ids[@]} SLURM_ARRAY_TASK_STEP=1 SLURM_CPUS_PER_TASK=1 \
            timeout -k 2 120 $NONET bash -c "$cmd" >"$S/task$id.log" 2>&1 &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        if wait "${pids[$i]}"; then pass; else
            fail "slurm task ${ids[$i]}: exit $?: $(head -c 300 "$S/task${ids[$i]}.log")"; fi
    done
    same "slurm: ${#ids[@]} tasks at once vs unsharded" "$S/out" "$S/ref" "$S/logs" "$S/reflogs"
    merged "slurm" "$S/out" "$S/logs"
else
    fail "slurm: no task ids or no command line to run"
fi

# ---- Kubernetes ----
K=$TMP/k8s
mkdir -p "$K"
if "$PY" -c 'import yaml' 2>/dev/null; then
    expect_exit 0 "k8s Indexed Job" -- "$PY" "$RECIPES" k8s "$K8S"
    n=$(sed -n 1p "$TMP/out") line=$(sed -n 2p "$TMP/out")
    if [ -n "$n" ] && [ -n "$line" ]; then
        cmd="$(rewrite "$line" "$K/out" "$K/logs") --max-batches 12"
        ref="$(rewrite "${line/--shard auto\/$n/}" "$K/ref" "$K/reflogs") --max-batches 12"
        expect_exit 0 "k8s: the unsharded run" -- timeout -k 2 120 $NONET bash -c "$ref"
        for ((k = n - 1; k >= 0; k--)); do
            expect_exit 0 "k8s: JOB_COMPLETION_INDEX=$k" -- env JOB_COMPLETION_INDEX=$k \
                timeout -k 2 120 $NONET bash -c "$cmd"
        done
        same "k8s: $n pods, last index first, vs unsharded" "$K/out" "$K/ref" "$K/logs" "$K/reflogs"
        merged "k8s" "$K/out" "$K/logs"
    fi
else
    fail "python3-yaml is not installed (tools/debian-packages.txt lists it): $K8S not parsed"
fi

# ---- GNU parallel, the README's lines ----
expect_grep "parallel is in the install list" '^parallel$' "$ROOT/tools/debian-packages.txt"
expect_grep "python3-yaml is in the install list" '^python3-yaml$' "$ROOT/tools/debian-packages.txt"
for f in tools/slurm-array.sh tools/k8s-indexed-job.yaml; do
    expect_grep "README names $f" "$f" "$ROOT/README.md"
done
expect_exit 0 "README parallel lines" -- "$PY" "$RECIPES" readme-parallel "$ROOT/README.md"
cp "$TMP/out" "$TMP/plines"
if ! command -v parallel >/dev/null; then
    if [ "${CI:-}" = true ]; then fail "CI=true but GNU parallel is not installed (tools/debian-packages.txt)"
    else echo "SKIP: the README's parallel recipes: GNU parallel is not installed (apt-get install parallel)"; fi
else
    i=0
    while IFS= read -r line; do
        i=$((i + 1))
        P=$TMP/par$i
        mkdir -p "$P/shard" "$P/ref"
        expect_exit 0 "README parallel line $i, unsharded: $line" -- "$PY" "$RECIPES" unshard "$line"
        ref=$(rewrite "$(cat "$TMP/out")")
        cmd=$(rewrite "$line")
        expect_exit 0 "README parallel line $i: $line" -- \
            bash -c "cd '$P/shard' && timeout -k 2 300 $NONET bash -c \"\$1\"" _ "$cmd"
        expect_exit 0 "README parallel line $i, unsharded: $ref" -- \
            bash -c "cd '$P/ref' && timeout -k 2 300 $NONET bash -c \"\$1\"" _ "$ref"
        same "README parallel line $i vs unsharded" "$P/shard" "$P/ref"
    done <"$TMP/plines"
fi
summary cli_recipes
