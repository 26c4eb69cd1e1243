#!/bin/bash
# cli_manners.sh - how the command line behaves as a GNU-style tool: --help and --list
# fit 80 columns, --help ends with where to report bugs, --version in the GNU format
# with the LICENSE's copyright, a full stdout is an error, ambiguous abbreviations name
# their candidates, and the summary agrees in number ("1 batch").
# Nothing here may reach the network: ambiguity is an error before any fetch, and the
# runs use the real data set, which is present and verified.
. "$(dirname "$0")/lib.sh"
BIN=$CA_BIN
DATA=$CA_DATA
widest() { awk '{ if (length > m) m = length } END { print m + 0 }' "$1"; }

# ---- 80 columns ----
expect_exit 0 help -- "$BIN" --help
expect_true "help-fits-80 (widest $(widest "$TMP/out"))" -- test "$(widest "$TMP/out")" -le 79
expect_true help-ends-with-bugs -- bash -c "tail -n 2 '$TMP/out' | grep -q '^Report bugs to the cifar-act issue tracker'"
expect_exit 0 list -- "$BIN" --list
expect_true "list-fits-80 (widest $(widest "$TMP/out"))" -- test "$(widest "$TMP/out")" -le 79
expect_grep list-has-formulas '^    1 / \(1 \+ exp\(-x\)\)$' "$TMP/out"
expect_true list-no-trailing-blanks -- bash -c "! grep -q ' \$' '$TMP/out'"
expect_exit 0 list-long -- "$BIN" --list --long
expect_grep list-long-one-row '^sigmoid +Sigmoid +1 / \(1 \+ exp\(-x\)\)$' "$TMP/out"
expect_true list-long-is-wide -- test "$(widest "$TMP/out")" -gt 79
expect_exit 2 long-alone -- "$BIN" --long
expect_grep long-alone '^cifar-act: --long goes with --list \(see cifar-act --help\)$' "$TMP/err"
# The same functions in both, in the same order.
"$BIN" --list | awk '/^[a-z0-9_]+ +[A-Z]/ {print $1, $2}' >"$TMP/short"
"$BIN" --list --long | awk '/^[a-z0-9_]+ +[A-Z]/ {print $1, $2}' >"$TMP/long"
expect_true list-same-rows -- cmp -s "$TMP/short" "$TMP/long"
expect_true list-27-rows -- test "$(wc -l <"$TMP/short")" -ge 27

# ---- --version, GNU style ----
expect_exit 0 version -- "$BIN" --version
expect_true version-5-lines -- test "$(wc -l <"$TMP/out")" -eq 5
expect_grep version-line '^cifar-act [0-9]+\.[0-9]+\.[0-9]+$' "$TMP/out"
expect_grep version-copyright '^Copyright \(C\) 2026 the cifar-act developers$' "$TMP/out"
expect_grep version-license '^License MIT' "$TMP/out"
expect_grep version-warranty '^There is NO WARRANTY, to the extent permitted by law\.$' "$TMP/out"
expect_grep license-file-copyright '^Copyright \(c\) 2026 the cifar-act developers$' "$CA_ROOT/LICENSE"
expect_grep license-file-mit '^MIT License$' "$CA_ROOT/LICENSE"

# ---- a full stdout is an error ----
for args in --help --list "--list --long" --version; do
    # (not expect_exit: its own redirection of stdout would replace /dev/full)
    # shellcheck disable=SC2086
    "$BIN" $args >/dev/full 2>"$TMP/err"; rc=$?
    if [ "$rc" -eq 1 ]; then pass; else fail "full-stdout $args: exit $rc, wanted 1"; fi
    expect_grep "full-stdout-message $args" '^cifar-act: cannot write to standard output: No space left on device$' "$TMP/err"
done

# ---- abbreviations ----
expect_exit 2 ambiguous -- "$BIN" --d x
expect_grep ambiguous-names "^cifar-act: option '--d' is ambiguous; possibilities: --data --dataset --drop-last --download-only \(see cifar-act --help\)$" "$TMP/err"
expect_exit 2 ambiguous-dat -- "$BIN" --dat=x --list
expect_grep ambiguous-dat "option '--dat' is ambiguous; possibilities: --data --dataset \(" "$TMP/err"
expect_exit 2 ambiguous-l -- "$BIN" --l
expect_grep ambiguous-l "possibilities: --list --long --label --logdir --layout" "$TMP/err"
expect_exit 0 unique-prefix -- "$BIN" --lis
expect_grep unique-prefix '^sigmoid ' "$TMP/out"
expect_exit 0 exact-wins -- "$BIN" --list --long --data x
expect_exit 2 unknown-still-unknown -- "$BIN" --frobnicate
expect_grep unknown-still-unknown "^cifar-act: unknown option '--frobnicate'" "$TMP/err"

# ---- plural agreement ----
expect_exit 0 one-batch -- "$BIN" --data "$DATA" --out "$TMP/o1" -n 1 --batch 1
expect_grep one-batch '^cifar-act: 1 batch, 1 image -> 2 PNG files ' "$TMP/out"
expect_exit 0 one-file -- "$BIN" --data "$DATA" --out "$TMP/o2" -n 1 --batch 2 --layout pairs
expect_grep one-file '^cifar-act: 1 batch, 2 images -> 1 PNG file ' "$TMP/out"
expect_exit 0 two-batches -- "$BIN" --data "$DATA" --out "$TMP/o3" -n 2 --batch 1
expect_grep two-batches '^cifar-act: 2 batches, 2 images -> 4 PNG files ' "$TMP/out"
summary cli_manners
