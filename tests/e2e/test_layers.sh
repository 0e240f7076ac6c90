#!/usr/bin/env bash
# test_layers.sh — the layering check (tests/lint/check_layers.sh, run by make lint)
# passes on this tree and fails, naming the file, line and rule, on a copy with one
# deliberate fault each: an include against the order, a flow-core file including
# the harness, a header named without its folder, an include cycle, and — on tiny
# compiled objects — a call against the order and a link cycle.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHECK=$ROOT/tests/lint/check_layers.sh

out=$("$CHECK" "$ROOT" 2>&1)
[ $? -eq 0 ] && [ -z "$out" ] && pass layers_this_tree_passes || fail layers_this_tree_passes "$out"

# A fresh copy of the sources for each fault.
fresh() {
    rm -rf "$E2E_TMP/t"
    mkdir -p "$E2E_TMP/t"
    cp -r "$ROOT/flows" "$ROOT/harness" "$E2E_TMP/t/"
}

# refuses NAME PATTERN — the check on the copy exits 1 and prints a line matching
# the extended regex PATTERN.
refuses() {
    local out rc
    out=$("$CHECK" "$E2E_TMP/t" 2>&1)
    rc=$?
    if [ "$rc" -ne 1 ]; then
        fail "$1" "exit $rc, expected 1: $out"
    elif ! grep -Eq -- "$2" <<<"$out"; then
        fail "$1" "'$out' does not match /$2/"
    else
        pass "$1"
    fi
}

# Inserts an include after the first line of a file.
add_include() { sed -i "1a #include \"$2\"" "$E2E_TMP/t/$1"; }

fresh
add_include harness/store/store.c report/plot.h
refuses layers_store_including_report_fails \
    '^harness/store/store.c:2: #include "report/plot.h": store/ may include only its own headers and util flows'

fresh
add_include flows/flow.c store/store.h
refuses layers_flows_including_harness_fails \
    '^flows/flow.c:2: #include "store/store.h": flows/ may include only its own headers and nothing outside flows/'

fresh
add_include harness/util/paths.c err.h
refuses layers_header_without_folder_fails '^harness/util/paths.c:2: #include "err.h": name the header by its folder'

fresh
add_include harness/run/shard.c run/no_such.h
refuses layers_missing_header_fails '^harness/run/shard.c:2: #include "run/no_such.h": no such header'

# util/paths.h already includes util/err.h; err.h including paths.h closes a loop.
fresh
add_include harness/util/err.h util/paths.h
refuses layers_include_cycle_fails \
    'include cycle between modules: harness/util/(err -> harness/util/paths -> harness/util/err|paths -> harness/util/err -> harness/util/paths)$'

# Link level: store/a.c calls report/b.c through a hand-written declaration (no
# include to catch), and b.c calls a.c back.
rm -rf "$E2E_TMP/t" && mkdir -p "$E2E_TMP/t/harness/store" "$E2E_TMP/t/harness/report" "$E2E_TMP/t/obj"
cp "$ROOT/harness/README.md" "$E2E_TMP/t/harness/"
printf 'int report_b(void);\nint store_a(void) { return report_b(); }\n' >"$E2E_TMP/t/harness/store/a.c"
printf 'int store_a(void);\nint report_b(void) { return store_a() + 1; }\n' >"$E2E_TMP/t/harness/report/b.c"
for f in store/a report/b; do
    mkdir -p "$E2E_TMP/t/obj/harness/$(dirname $f)"
    cc -c "$E2E_TMP/t/harness/$f.c" -o "$E2E_TMP/t/obj/harness/$f.o"
done
out=$("$CHECK" "$E2E_TMP/t" --objects "$E2E_TMP/t/obj" 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -q '^harness/store/a.o uses report_b of harness/report/b.o: store/ may use only' <<<"$out" &&
    pass layers_call_against_order_fails || fail layers_call_against_order_fails "exit $rc: $out"
grep -Eq '^link cycle between object files \(each calls the other\): harness/(store/a -> harness/report/b -> harness/store/a|report/b -> harness/store/a -> harness/report/b)$' <<<"$out" &&
    pass layers_link_cycle_fails || fail layers_link_cycle_fails "$out"

finish
