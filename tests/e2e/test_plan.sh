#!/usr/bin/env bash
# test_plan.sh — `lde plan` on the shipped configs: the grid, stable ids (golden
# files), statuses read from an existing database, and nothing ever written.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$E2E_TMP"
cp -r "$ROOT/configs" configs
quiet() { "$@" >/dev/null; }

out=$("$LDE" plan configs/normalization.yaml)
grep -q '^experiment normalization: 6 runs, varying seed, preprocess.normalize$' <<<"$out" &&
    [ "$(grep -c ' new ' <<<"$out")" -eq 6 ] && pass plan_table_lists_six_new_runs ||
    fail plan_table_lists_six_new_runs "$out"

for f in quickstart normalization; do
    "$LDE" plan "configs/$f.yaml" --json >"$f.json"
    check "plan_json_${f}_matches_golden" cmp -s "$f.json" "$ROOT/tests/golden/plan_$f.json"
done

for f in configs/*.yaml; do
    check "plan_shipped_$(basename "$f" .yaml)" quiet "$LDE" plan "$f"
done

# The same point in two files is the same run: normalization's (seed 0,
# normalize true) is baselines' seed 0.
a=$("$LDE" plan configs/normalization.yaml --json | grep -o '"id":"[0-9a-f]*"' | sed -n 2p)
b=$("$LDE" plan configs/baselines.yaml --json | grep -o '"id":"[0-9a-f]*"' | sed -n 1p)
[ -n "$a" ] && [ "$a" = "$b" ] && pass plan_same_point_two_files_same_id ||
    fail plan_same_point_two_files_same_id "$a vs $b"

# Status from a database that knows one run; a database without a runs table is
# ignored; a missing one is not created.
id=$(sed -n 2p normalization.json | grep -o '"id":"[0-9a-f]*"' | cut -d'"' -f4)
sqlite3 known.db "CREATE TABLE runs(id TEXT PRIMARY KEY, status TEXT); INSERT INTO runs VALUES('$id', 'done');"
out=$("$LDE" plan configs/normalization.yaml --db known.db)
grep -q "^${id:0:12}  done " <<<"$out" && [ "$(grep -c ' new ' <<<"$out")" -eq 5 ] &&
    pass plan_shows_status_from_db || fail plan_shows_status_from_db "$out"
sqlite3 other.db "CREATE TABLE t(x);"
check plan_ignores_db_without_runs_table quiet "$LDE" plan configs/quickstart.yaml --db other.db
"$LDE" plan configs/quickstart.yaml --db absent.db >/dev/null
[ ! -e absent.db ] && [ ! -e results ] && pass plan_writes_nothing || fail plan_writes_nothing

out=$("$LDE" plan --params)
[ "$(grep -c '^[a-z]' <<<"$out")" -ge 28 ] && grep -q '^preprocess.pca  *int  *0 ' <<<"$out" &&
    pass plan_params_lists_the_table || fail plan_params_lists_the_table "$out"

expect_exit plan_unknown_option 2 "unknown option '--frobnicate'" \
    "$LDE" plan configs/quickstart.yaml --frobnicate
expect_exit plan_needs_a_config 2 "missing CONFIG" "$LDE" plan
finish
