#!/usr/bin/env bash
# test_keys.sh — runs keyed by the content of their files (issue 23): the same
# bytes in another directory are the same run (skipped), one changed byte is a new
# run and the old one is stale (left out of status and table, shown with --all),
# `touch` re-hashes and keeps the id, the digest cache spares re-reading, a file
# rewritten during a run fails it, a run of another lde version is marked in
# lde status, a schema-3 database with a run on user files
# keeps its rows (inputs unknown), shards from two mount points merge as one grid,
# and lde score prints the digests of the files a model was trained on.
source "$(dirname "$0")/lib.sh"
F=$(cd "$(dirname "$0")/../fixtures/runner" && pwd)
cd "$E2E_TMP" || exit 1

# config DIR [EPOCHS] [HIDDEN] — a one-point grid on DIR's copies of the fixtures.
config() {
    mkdir -p "$1"
    cp -p "$F/train.npy" "$F/val.npy" "$F/far.npy" "$1/" 2>/dev/null || true
    cat >"$1/c.yaml" <<YAML
experiment: keys
seed: [0, 1]
data:
  features: {train: train.npy, val: val.npy, ood: {far: far.npy}}
preprocess:
  normalize: false
flow:
  arch: realnvp
  blocks: 2
  hidden: ${3:-16}
train:
  epochs: ${2:-0.5}
  batch_size: 64
YAML
}
ids() { "$LDE" plan "$1" --json --db db/lde.db 2>/dev/null | grep -o '"id":"[0-9a-f]*"' | sort; }
hashed() { "$LDE" plan "$1" --db db/lde.db 2>&1 >/dev/null | sed -n 's/^input files: \([0-9]*\) bytes.*/\1/p'; }

config a
config b
# Old files (mtime an hour ago): their digests may be cached across processes.
touch -d '1 hour ago' a/*.npy b/*.npy
check copy_same_ids test "$(ids a/c.yaml)" = "$(ids b/c.yaml)"
"$LDE" run a/c.yaml --db db/lde.db --models m >/dev/null 2>err_a.txt
check run_in_a_done grep -q "keys: 2 done, 0 skipped" err_a.txt
"$LDE" run b/c.yaml --db db/lde.db --models m >/dev/null 2>err_b.txt
check copy_in_b_skipped grep -q "keys: 0 done, 2 skipped (already done)" err_b.txt
check inputs_rows_both_places test "$(q db/lde.db "SELECT count(DISTINCT path) FROM inputs")" -eq 6
check inputs_rows_one_digest_per_role \
    test "$(q db/lde.db "SELECT count(DISTINCT role || digest) FROM inputs")" -eq 3

# The digest cache: a second plan reads nothing; touch re-hashes one file, same ids.
check digest_cache_file_written test -s db/digests.tsv
check digest_cache_spares_rereading test "$(hashed b/c.yaml)" = 0
before=$(ids b/c.yaml)
touch -d '30 minutes ago' b/train.npy
check touch_rehashes test "$(hashed b/c.yaml)" = "$(stat -c %s b/train.npy)"
check touch_keeps_ids test "$(ids b/c.yaml)" = "$before"

# One changed byte (same size): new ids, computed; the old runs stay, stale.
size=$(stat -c %s b/train.npy)
printf '\077' | dd of=b/train.npy bs=1 seek=$((size - 3)) conv=notrunc status=none
check changed_byte_new_ids test "$(ids b/c.yaml)" != "$before"
"$LDE" run b/c.yaml --db db/lde.db --models m >/dev/null 2>err_c.txt
check changed_byte_computed grep -q "keys: 2 done, 0 skipped" err_c.txt
check old_runs_kept test "$(q db/lde.db "SELECT count(*) FROM runs WHERE status='done'")" -eq 4
out=$("$LDE" status keys --db db/lde.db)
check status_counts_stale grep -q "2 runs left out: 2 stale (inputs changed)" <<<"$out"
check status_shows_current_only test "$(grep -c ' done ' <<<"$out")" -eq 2
all=$("$LDE" status keys --db db/lde.db --all)
check status_all_marks_stale test "$(grep -c '^  [0-9a-f]\{8\} .* stale ' <<<"$all")" -eq 2
table=$("$LDE" table keys --db db/lde.db 2>table_err.txt)
check table_leaves_out_stale test "$(grep -c '^| keys' <<<"$table")" -eq 1
check table_says_left_out grep -q "left out: 2 stale (inputs changed)" table_err.txt
check table_all_marks_stale grep -q "| stale |" <<<"$("$LDE" table keys --db db/lde.db --all 2>/dev/null)"
"$LDE" report keys --db db/lde.db --out rep >/dev/null 2>&1
check report_says_left_out grep -q "keys: 2 runs left out: 2 stale (inputs changed); --all shows them" rep/keys/report.md

# A run recorded by another lde version is marked, not re-run.
q db/lde.db "UPDATE runs SET lde_version = '0.0.9' WHERE id = (SELECT run_id FROM experiment_runs
    WHERE position = 0)"
check status_marks_other_lde_version grep -q " done (lde 0.0.9) " <<<"$("$LDE" status keys \
    --db db/lde.db)"
"$LDE" run b/c.yaml --db db/lde.db --models m >/dev/null 2>err_v.txt
check other_lde_version_not_rerun grep -q "keys: 0 done, 2 skipped" err_v.txt

# lde score names the bytes the model was trained on.
id=$(q db/lde.db "SELECT run_id FROM experiment_runs WHERE position = 0")
"$LDE" score --model "m/$id.flow" --features b/val.npy >score.txt
check score_prints_train_digest grep -q "train $(q db/lde.db "SELECT digest FROM inputs
    WHERE run_id='$id' AND role='train' LIMIT 1") $size $PWD/b/train.npy" score.txt

if [ "${E2E_VALGRIND:-0}" != 1 ]; then
# A file rewritten while the run trains: failed, never done, no model left.
config c 40 256
"$LDE" run c/c.yaml --db c.db --models mc >/dev/null 2>err_during.txt &
pid=$!
for _ in $(seq 600); do grep -q "step 0/" err_during.txt 2>/dev/null && break; sleep 0.05; done
cp b/train.npy c/train.npy
wait $pid
check changed_during_run_exit_1 test $? -eq 1
check changed_during_run_failed test "$(q c.db "SELECT count(*) FROM runs WHERE status='failed'
    AND error LIKE '%train.npy changed while in use%'")" -ge 1
check changed_during_run_not_done test "$(q c.db "SELECT count(*) FROM runs WHERE status='done'")" \
    -eq 0
fi

# Shards computed where the data sit at two mount points merge as one grid.
"$LDE" run a/c.yaml --shard 0/2 --db s0.db --models ms >/dev/null 2>&1
config elsewhere
touch -d '1 hour ago' elsewhere/*.npy
"$LDE" run elsewhere/c.yaml --shard 1/2 --db s1.db --models ms >/dev/null 2>&1
"$LDE" merge --into merged.db s0.db s1.db >/dev/null 2>&1
check merge_two_mounts_one_grid \
    test "$(q merged.db "SELECT count(*) FROM runs WHERE status='done'")" -eq 2
check merge_two_mounts_same_ids test "$(q merged.db "SELECT group_concat(id) FROM (SELECT id FROM
    runs ORDER BY id)")" = "$(q db/lde.db "SELECT group_concat(id) FROM (SELECT run_id AS id FROM
    inputs WHERE path = '$PWD/a/train.npy' ORDER BY run_id)")"

# A database of schema version 3 with a run on user files (its params name paths):
# it opens, keeps its rows, the run is `inputs unknown`, and lde run computes the
# point anew under its digest id, the old row kept.
"$LDE" run a/c.yaml --db old.db --models mo >/dev/null 2>&1
sqlite3 old.db "DROP TABLE inputs; DROP TABLE experiment_inputs;
    ALTER TABLE runs DROP COLUMN claim_worker; ALTER TABLE runs DROP COLUMN claim_host;
    ALTER TABLE runs DROP COLUMN claim_pid; ALTER TABLE runs DROP COLUMN claimed_at;
    ALTER TABLE runs DROP COLUMN heartbeat_at;
    UPDATE runs SET id = 'old' || substr(id, 4),
      params_json = json_set(params_json, '\$.data.features.train', '$PWD/a/train.npy');
    UPDATE experiment_runs SET run_id = 'old' || substr(run_id, 4);
    UPDATE evals SET run_id = 'old' || substr(run_id, 4);
    UPDATE scores SET run_id = 'old' || substr(run_id, 4); PRAGMA user_version = 3"
check old_schema_is_3 test "$(q old.db "PRAGMA user_version")" -eq 3
out=$("$LDE" status keys --db old.db --all)
check old_schema_opens_rows_kept test "$(q old.db "SELECT count(*) FROM evals")" -gt 0
check old_runs_inputs_unknown test "$(grep -c '^  old.* unknown ' <<<"$out")" -eq 2
"$LDE" run a/c.yaml --db old.db --models mo >/dev/null 2>err_old.txt
check old_schema_recomputes_new_ids grep -q "keys: 2 done, 0 skipped" err_old.txt
check old_schema_upgraded test "$(q old.db "PRAGMA user_version")" -eq 5
check old_rows_kept test "$(q old.db "SELECT count(*) FROM runs WHERE id LIKE 'old%'")" -eq 2
check old_rows_left_out grep -q "2 runs left out: 2 inputs unknown" <<<"$("$LDE" status keys \
    --db old.db)"
finish
