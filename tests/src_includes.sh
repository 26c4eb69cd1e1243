#!/bin/bash
# src_includes.sh - no include cycle between the modules under src/: data flows one way
# (README "Layout"). A module is one stem, X.c + X.h (+ X.inc), so act.c including
# act_kernels.h while act_kernels.h includes act.h is the cycle act -> act_kernels ->
# act. An `#include "NAME"` is resolved as the compiler does with -Isrc: beside the
# including file, then in src/; a name found in neither (build/gen's html_assets.h) is
# generated and has no includes of its own. The graph goes to tsort, which names a loop.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "${CA_SRC:-$CA_ROOT/src}" && pwd -P) # CA_SRC: another tree (to see it fail on a copy)

# The module of a path under src/: "act" for src/act.c, "cli/args" for src/cli/args.c.
module() { local m=${1#"$SRC"/}; echo "${m%.*}"; }

find "$SRC" -type f \( -name '*.c' -o -name '*.h' -o -name '*.inc' \) | sort >"$TMP/files"
expect_true some-sources -- test -s "$TMP/files"
: >"$TMP/edges"
while read -r f; do
    from=$(module "$f")
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
    while read -r name; do
        if [ -f "$(dirname "$f")/$name" ]; then to=$(dirname "$f")/$name
        elif [ -f "$SRC/$name" ]; then to=$SRC/$name
        else continue; fi
        to=$(module "$(realpath -m "$to")")
        [ "$to" = "$from" ] || echo "$from $to"
    done
done <"$TMP/files" >>"$TMP/edges"
sort -u -o "$TMP/edges" "$TMP/edges"
expect_true some-edges -- test -s "$TMP/edges"
# Both directions of every pair, named plainly (tsort names only one loop at a time).
awk '{ e[$1 " " $2] = 1 } END { for (k in e) { split(k, p, " ");
     if ((p[2] " " p[1]) in e && p[1] < p[2]) print p[1] " <-> " p[2] } }' \
    "$TMP/edges" | sort >"$TMP/pairs"
if [ -s "$TMP/pairs" ]; then fail "modules that include each other: $(tr '\n' ' ' <"$TMP/pairs")"
else pass; fi
if tsort "$TMP/edges" >/dev/null 2>"$TMP/loop"; then pass
else fail "include cycle between src/ modules: $(grep -v 'input contains a loop' "$TMP/loop" |
          sed 's/^tsort: //' | tr '\n' ' ')"; fi
summary src_includes
