#!/bin/bash
# cli_readme.sh - every cifar-act command in README.md's fenced code blocks, run as a
# reader would run it, so the README cannot rot. A line counts when `cifar-act` or
# `./cifar-act` starts it (after an optional `$ ` prompt) or follows `&&`, `;` or `|`
# (the quick start's `... && make && ./cifar-act ...` runs from ./cifar-act on), in a
# fenced block or an indented (4 spaces) code block; a trailing `\` joins lines;
# ```c blocks are C, not shell; lines of output in a block are not commands. Nothing is skipped: each command is one check,
# and it must exit 0 unless the line ends with a comment "# exit N".
# Each runs in its own empty directory (so out/ lands there), with ./cifar-act and
# `cifar-act` on PATH both the binary under test, --data DIR replaced by the real set
# (found as: $CIFAR_ACT_DATA, else ./data, else ../shared) and CIFAR_ACT_DATA set to it
# for lines without --data; the proxy variables point at a closed loopback port, so a
# command that tried the network would fail here, never reach out.
. "$(dirname "$0")/lib.sh"
ROOT=$CA_ROOT
DATA=${CA_DATA:-$(cact_find_data "$ROOT")} # the one rule: tests/lib.sh, cact_find_data
DATA=$(cd "$DATA" && pwd)
mkdir -p "$TMP/bin"
ln -s "$CA_BIN" "$TMP/bin/cifar-act"
export CIFAR_ACT_DATA=$DATA PATH="$TMP/bin:$PATH"
export http_proxy=http://127.0.0.1:9 https_proxy=http://127.0.0.1:9 all_proxy=http://127.0.0.1:9
unset no_proxy

# The command lines, one per line of $TMP/cmds as "LINENO<TAB>COMMAND".
awk '
    /^[ \t]*```/ { if (!inb) { inb = 1; c = ($0 ~ /```[ \t]*c[ \t]*$/) } else inb = 0; next }
    (inb && !c) || (!inb && /^(    |\t)/) {
        line = $0; no = NR
        while (line ~ /\\$/ && (getline nxt) > 0) { sub(/\\$/, "", line); line = line " " nxt }
        sub(/^[ \t]*\$ /, "", line)
        sub(/^[ \t]+/, "", line)
        if (match(line, /(^|&& |; |\| )[ \t]*(\.\/)?cifar-act( |$)/)) {
            cmd = substr(line, RSTART)
            sub(/^(&& |; |\| )/, "", cmd)
            printf "%d\t%s\n", no, cmd
        }
    }' "$ROOT/README.md" >"$TMP/cmds"
n=$(wc -l <"$TMP/cmds")
expect_true "readme-has-commands ($n)" -- test "$n" -ge 5

i=0
while IFS=$'\t' read -r no cmd; do
    i=$((i + 1))
    want=0
    if [[ $cmd =~ \#[[:space:]]*exit[[:space:]]+([0-9]+)[[:space:]]*$ ]]; then want=${BASH_REMATCH[1]}; fi
    run=$(printf '%s' "$cmd" | sed -E "s#--data(=| +)[^ ]+#--data '$DATA'#g")
    dir=$TMP/run$i
    mkdir -p "$dir"
    ln -s "$CA_BIN" "$dir/cifar-act"
    (cd "$dir" && bash -c "$run") >"$TMP/out" 2>"$TMP/err" </dev/null
    rc=$?
    if [ "$rc" -eq "$want" ]; then pass; else
        fail "README.md:$no: exit $rc, wanted $want: $cmd; stderr: $(head -c 300 "$TMP/err")"; fi
    rm -rf "$dir"
done <"$TMP/cmds"
echo "ran $i README commands with --data $DATA"
summary cli_readme
