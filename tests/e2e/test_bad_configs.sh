#!/usr/bin/env bash
# test_bad_configs.sh — every malformed config in tests/bad_inputs/config/ is refused
# before anything runs: exit 2, a one-line message naming the file and matching the
# pattern in expect.txt (line:column where there is one), and nothing written (no
# results/ or database appears in the working directory). Each file goes through
# `lde plan`, and through `lde run` too once that command exists.
. "$(dirname "$0")/lib.sh"
SUITE_SRC=$(cd "$(dirname "$0")/../bad_inputs/config" && pwd)
SUITE=$E2E_TMP/suite
cp -r "$SUITE_SRC" "$SUITE"
# Just over the 1 MiB cap: comments only, so only the size check can refuse it.
head -c 1048600 /dev/zero | tr '\0' '#' >"$SUITE/enormous.yaml"
WORK=$E2E_TMP/work
mkdir -p "$WORK"
commands=(plan)
# Under `make valgrind` (E2E_VALGRIND=1) only through lde plan: lde run validates
# with the same config_load and plan_build, and halving 158 valgrind starts saves
# minutes; what run must not write is checked in the plain and ASan suites.
"$LDE" --help | grep -q '^  run ' && [ "${E2E_VALGRIND:-0}" != 1 ] && commands+=(run)

n=0
while IFS=$'\t' read -r file pattern; do
    case "$file" in '#'* | '') continue ;; esac
    n=$((n + 1))
    for cmd in "${commands[@]}"; do
        name="${cmd}_${file%.yaml}"
        refused "$name" "$SUITE/$file" "$pattern" "$LDE" "$cmd" "$SUITE/$file"
    done
done <"$SUITE/expect.txt"
[ "$n" -ge 40 ] && pass bad_config_suite_has_40_cases || fail bad_config_suite_has_40_cases "$n"
finish
