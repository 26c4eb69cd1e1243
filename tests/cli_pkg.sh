#!/bin/bash
# cli_pkg.sh - packaging: make install into a staging DESTDIR (the file list), the man
# page (groff clean, every --help option and --list function in it), bash completion,
# the library through pkg-config (shared and static) against the staged tree giving
# the CLI's pixels, the .so's soname and exports, the README's C example, and make
# uninstall leaving the staging tree empty.
. "$(dirname "$0")/lib.sh"
BIN=$CA_BIN
ROOT=$CA_ROOT
DATA=$CA_DATA
BUILD=$(cd "$ROOT" && cd "$CA_BUILD" && pwd)
S=$TMP/stage
P=/usr/local
MK=(make -s -C "$ROOT" BUILD="$BUILD" BIN="$BIN" DESTDIR="$S" PREFIX=$P)

# ---- the Makefile honours CPPFLAGS, and builds PIC objects only for the .so ----
make -s -n -B -C "$ROOT" BUILD="$TMP/b" CPPFLAGS=-D_FORTIFY_SOURCE=2 "$TMP/b/src/ca.o" \
    "$TMP/b/pic/ca.o" >"$TMP/n" 2>&1
expect_true cppflags -- test "$(grep -c 'D_FORTIFY_SOURCE=2' "$TMP/n")" -eq 2
expect_true static-objects-not-pic -- bash -c "grep 'b/src/ca.o' '$TMP/n' | grep -vq -- -fPIC"
expect_grep pic-objects '-fPIC .*b/pic/ca.o' "$TMP/n"

# ---- install ----
expect_exit 0 install -- "${MK[@]}" install
(cd "$S" && find . \( -type f -o -type l \) | sort) >"$TMP/files"
cat >"$TMP/want" <<LIST
.$P/bin/cifar-act
.$P/include/cifar-act/act.h
.$P/include/cifar-act/act_id.h
.$P/include/cifar-act/ca.h
.$P/include/cifar-act/cifar.h
.$P/include/cifar-act/dataset.h
.$P/include/cifar-act/fetch.h
.$P/include/cifar-act/grid.h
.$P/include/cifar-act/pngw.h
.$P/include/cifar-act/pyfetch.h
.$P/include/cifar-act/run.h
.$P/include/cifar-act/run_info.h
.$P/lib/libcifaract.a
.$P/lib/libcifaract.so
.$P/lib/libcifaract.so.0
.$P/lib/libcifaract.so.0.1.0
.$P/lib/pkgconfig/cifar-act.pc
.$P/share/bash-completion/completions/cifar-act
.$P/share/man/man1/cifar-act.1
LIST
expect_true installed-files -- diff "$TMP/want" "$TMP/files"
expect_true binary-runs -- "$S$P/bin/cifar-act" --version
expect_true soname -- bash -c "readelf -d '$S$P/lib/libcifaract.so.0.1.0' | grep -q 'SONAME.*\[libcifaract.so.0\]'"
expect_true so-link -- test "$(readlink "$S$P/lib/libcifaract.so")" = libcifaract.so.0
# Exports: exactly the functions the installed headers declare, no kernel internals.
nm -D --defined-only "$S$P/lib/libcifaract.so.0.1.0" | awk '{print $3}' | sort >"$TMP/exp"
# Declarations only: comment lines (" * ...", "/* ...") may name enums before a '('.
grep -hvE '^ *(\*|/\*)' "$S$P"/include/cifar-act/*.h | grep -oE '\<cact_[a-z0-9_]+ *\(' | sed 's/ *(//' | sort -u >"$TMP/decl"
expect_true exports-declared -- bash -c "comm -23 '$TMP/exp' '$TMP/decl' | (! grep .)"
expect_true declared-exported -- bash -c "comm -13 '$TMP/exp' '$TMP/decl' | grep -vx cact_status | (! grep .)"
expect_true no-private-headers -- bash -c "! grep -lE '^#include \"(act_kernels|archive|download|manifest|pickle)\.h\"' '$S$P'/include/cifar-act/*.h"

# ---- man page ----
MAN=$S$P/share/man/man1/cifar-act.1
expect_true man-groff-clean -- bash -c "test -z \"\$(groff -man -ww -z '$MAN' 2>&1)\""
expect_true man-tbl-clean -- bash -c "test -z \"\$(groff -t -man -ww -z '$MAN' 2>&1)\""
"$BIN" --help >"$TMP/help"
# The options the man page spells (roff writes - as \-), one per line, whole words.
grep -oE -- '(\\-)+[a-zA-Z0-9]+(\\-[a-zA-Z0-9]+)*' "$MAN" | tr -d '\\' | sort -u >"$TMP/man-opts"
missing=""
for o in $(grep -oE -- '(^|[ ,])--[a-z][a-z0-9-]*' "$TMP/help" | grep -oE -- '--[a-z0-9-]+' | sort -u) \
         $(grep -oE -- '^ +-[a-zA-Z],' "$TMP/help" | grep -oE -- '-[a-zA-Z]'); do
    grep -qxF -- "$o" "$TMP/man-opts" || missing="$missing $o"
done
expect_true "man-has-every-option (missing:$missing)" -- test -z "$missing"
missing=""
for f in $("$BIN" --list | awk '/^[a-z0-9_]+ +[A-Z]/ {print $1}'); do
    grep -qE "^${f//_/\\_}(;|$)" "$MAN" || grep -qE "^$f;" "$MAN" || missing="$missing $f"
done
expect_true "man-has-every-function (missing:$missing)" -- test -z "$missing"
VER=$("$BIN" --version | head -n 1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+')
expect_grep man-version "^\\.TH CIFAR-ACT 1 [0-9-]+ \"cifar-act $VER\"" "$MAN"
for s in NAME SYNOPSIS DESCRIPTION OPTIONS FUNCTIONS EXAMPLES FILES ENVIRONMENT \
         'EXIT STATUS' 'REPORTING BUGS' COPYRIGHT; do
    expect_grep "man-section-$s" "^\\.SH \"?$s\"?\$" "$MAN"
done

# ---- bash completion: complete LINE -> the candidates, one per line ----
complete_line() {
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
             _cifar_act; printf "%s\n" "${COMPREPLY[@]}"' _ \
        "$S$P/share/bash-completion/completions/cifar-act" "$BIN" "$@" 2>&1
}
export -f complete_line; export S P BIN
expect_true comp-options -- bash -c '[ "$(complete_line --sty)" = --style ]'
expect_true comp-all-options -- bash -c '[ "$(complete_line -- | wc -l)" -ge 30 ]'
expect_true comp-fn -- bash -c '[ "$(complete_line --fn sig)" = sigmoid ]'
expect_true comp-fn-all -- bash -c '[ "$(complete_line --fn "" | wc -l)" -eq "$("$BIN" --list | grep -cE "^[a-z0-9_]+ +[A-Z]")" ]'
expect_true comp-fn-equals -- bash -c '[ "$(complete_line --fn = leaky)" = leaky_relu ]'
expect_true comp-style-equals -- bash -c '[ "$(complete_line --style = | wc -l)" -eq 2 ]'
expect_true comp-style -- bash -c '[ "$(complete_line --style "" | tr "\n" " ")" = "torchvision tensorboard " ]'
expect_true comp-layout -- bash -c '[ "$(complete_line --layout p)" = pairs ]'
expect_true comp-dataset -- bash -c '[ "$(complete_line --dataset "" | tr "\n" " ")" = "cifar10 cifar100 " ]'
expect_true comp-split -- bash -c '[ "$(complete_line --split tr)" = train ]'

# ---- the library from the staged tree, through pkg-config ----
export PKG_CONFIG_PATH=$S$P/lib/pkgconfig
PC=(pkg-config --define-variable=prefix="$S$P")
# Under make asan the library is instrumented, so the example must be too.
SAN=()
if nm -D "$S$P/lib/libcifaract.so.0.1.0" 2>/dev/null | grep -q ' U __asan'; then
    SAN=(-fsanitize=address,undefined)
fi
expect_true pc-requires-private -- bash -c "[ \"\$(pkg-config --print-requires-private cifar-act | sort | tr '\n' ' ')\" = 'libcrypto libcurl libisal zlib ' ]"
expect_exit 0 example-builds -- cc -std=c11 -Wall -Wextra -Werror "${SAN[@]}" "$ROOT/tools/cact_example.c" \
    $("${PC[@]}" --cflags --libs cifar-act) -o "$TMP/example"
expect_true example-uses-staged-so -- bash -c "LD_LIBRARY_PATH='$S$P/lib' ldd '$TMP/example' | grep -q '$S$P/lib/libcifaract.so.0'"
expect_exit 0 example-static-builds -- cc -std=c11 "${SAN[@]}" "$ROOT/tools/cact_example.c" \
    $("${PC[@]}" --cflags cifar-act) "$S$P/lib/libcifaract.a" \
    $(pkg-config --libs $("${PC[@]}" --print-requires-private cifar-act)) \
    $("${PC[@]}" --variable=Libs.private cifar-act 2>/dev/null) -lm -pthread -o "$TMP/example-static"
expect_exit 0 cli-batch-0 -- "$BIN" --data "$DATA" --out "$TMP/cli" --fn sigmoid -n 1 -q
expect_exit 0 example-runs -- env LD_LIBRARY_PATH="$S$P/lib" "$TMP/example" "$DATA" "$TMP/ex.png"
expect_true example-same-pixels -- "$BUILD/tests/pngdiff" "$TMP/ex.png" "$TMP/cli/output_0000.png"
expect_exit 0 example-static-runs -- "$TMP/example-static" "$DATA" "$TMP/ex-static.png"
expect_true example-static-same-pixels -- "$BUILD/tests/pngdiff" "$TMP/ex-static.png" "$TMP/cli/output_0000.png"
expect_true pngdiff-can-fail -- bash -c "! '$BUILD/tests/pngdiff' '$TMP/ex.png' '$TMP/cli/input_0000.png' 2>/dev/null"
# Each installed header compiles on its own, in strict C11: a header that needs another
# one includes it.
for h in "$S$P"/include/cifar-act/*.h; do
    printf '#include <cifar-act/%s>\nint cact_header_check;\n' "${h##*/}" >"$TMP/h.c"
    expect_exit 0 "header-alone-${h##*/}" -- cc -std=c11 -Wall -Wextra -Wpedantic -Werror \
        $("${PC[@]}" --cflags cifar-act) -c "$TMP/h.c" -o "$TMP/h.o"
done
# The README's C example is this file, so it compiles and works too.
awk '/^```c$/ {on=1; next} /^```$/ {on=0} on' "$ROOT/README.md" >"$TMP/readme.c"
expect_true readme-example-is-tools-file -- diff "$ROOT/tools/cact_example.c" "$TMP/readme.c"

# ---- uninstall ----
expect_exit 0 uninstall -- "${MK[@]}" uninstall
expect_true "uninstall-leaves-empty ($(cd "$S" 2>/dev/null && find . -mindepth 1 | head -3 | tr '\n' ' '))" \
    -- test -z "$(find "$S" -mindepth 1 2>/dev/null)"
summary cli_pkg
