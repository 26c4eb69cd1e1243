#!/bin/bash
# cli_symbols.sh - the library exports only cact_ names (one public prefix, so it links
# beside libarchive, libcanberra and the rest). Names starting with "__" are the
# compiler's (sanitizer instrumentation), not ours.
. "$(dirname "$0")/lib.sh"
LIB=$CA_BUILD/libcifaract.a
expect_true library-exists -- test -s "$LIB"
nm -g --defined-only "$LIB" | awk 'NF == 3 { print $3 }' | grep -v '^__' >"$TMP/syms"
expect_true some-symbols -- test -s "$TMP/syms"
grep -v '^cact_' "$TMP/syms" >"$TMP/bad"
if [ -s "$TMP/bad" ]; then fail "exported without the cact_ prefix: $(head -n 20 "$TMP/bad" | tr '\n' ' ')"
else pass; fi
summary cli_symbols
