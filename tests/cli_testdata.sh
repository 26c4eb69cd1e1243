#!/bin/bash
# cli_testdata.sh - the one rule by which every test finds the real dataset
# (tests/lib.sh: cact_find_data): $CIFAR_ACT_DATA, then ./data, then ../shared; and
# tests/run-tests.sh failing clearly, before any test, when none has it.
. "$(dirname "$0")/lib.sh"

# A fake checkout: ROOT/data and ROOT/../shared, each with a (tiny) test_batch.bin.
W=$TMP/w; ROOT=$W/repo
mkdir -p "$ROOT/data/cifar-10-batches-bin" "$W/shared/cifar-10-batches-bin" "$TMP/env/cifar-10-batches-bin"
for d in "$ROOT/data" "$W/shared" "$TMP/env"; do echo x >"$d/cifar-10-batches-bin/test_batch.bin"; done

got=$(CIFAR_ACT_DATA=$TMP/env cact_find_data "$ROOT")
expect_true "CIFAR_ACT_DATA first" -- [ "$got" = "$TMP/env" ]
got=$(CIFAR_ACT_DATA= cact_find_data "$ROOT")
expect_true "then ./data (the quick start's copy)" -- [ "$got" = "$ROOT/data" ]
rm -r "$ROOT/data"
got=$(CIFAR_ACT_DATA=$TMP/nowhere cact_find_data "$ROOT")
expect_true "then ../shared" -- [ "$got" = "$W/shared" ]
rm -r "$W/shared"
expect_true "none: fails, prints nothing" -- [ -z "$(CIFAR_ACT_DATA= cact_find_data "$ROOT")" ]

# The runner itself: in a checkout with no dataset anywhere, one clear line and a
# failing total, without running (or waiting for) any test.
mkdir -p "$ROOT/tests"
cp "$CA_ROOT/tests/run-tests.sh" "$CA_ROOT/tests/lib.sh" "$ROOT/tests/"
CIFAR_ACT_DATA= CA_BUILD=$TMP/nobuild bash "$ROOT/tests/run-tests.sh" >"$TMP/out" 2>&1
expect_true "runner fails without data" -- [ $? -ne 0 ]
expect_grep "runner says where it looked" 'none of: .*CIFAR_ACT_DATA.*/data.*/\.\./shared' "$TMP/out"
expect_grep "runner ends with the total" '^total: 0 passed, 1 failed$' "$TMP/out"
summary cli_testdata
