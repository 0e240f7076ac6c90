#!/usr/bin/env bash
# test_shard.sh — a grid split into shards and merged back, without a cluster:
# lde run --shard K/N computes disjoint parts that cover the grid, lde merge gives
# the database a single lde run makes (same run ids, same numbers bit for bit),
# merging twice changes nothing, a run done twice with different numbers is a
# conflict (exit 1, nothing overwritten), --runs restricts a shard to a list, and
# lde slurm writes the job array script and, with stand-in sbatch/squeue commands
# that run the array here, submits, waits and merges. The real Slurm test is
# tests/slurm/test_slurm.sh (make check-slurm).
source "$(dirname "$0")/lib.sh"
F=$(cd "$(dirname "$0")/../fixtures/runner" && pwd)
cd "$E2E_TMP" || exit 1

cat >g.yaml <<YAML
experiment: g
seed: [0, 1, 2]
data:
  features: {train: $F/train.npy, val: $F/val.npy, ood: {far: $F/far.npy, near: $F/near.npy}}
preprocess:
  normalize: false
flow:
  arch: [realnvp, glow]
  blocks: 2
  hidden: 16
train:
  epochs: 0.5
  batch_size: 64
  lr: 1.0e-3
  eval_every: 0.25
YAML

"$LDE" run g.yaml --db one.db --models m1 >/dev/null 2>&1
check single_run_all_done test "$(done_ids one.db | wc -l)" -eq 6

# Three shards, each into its own default database results/shards/g-K.db.
for k in 0 1 2; do "$LDE" run g.yaml --shard $k/3 --models m2 >/dev/null 2>&1; done
check shards_default_databases test -s results/shards/g-0.db -a -s results/shards/g-2.db
check shards_two_points_each bash -c "for k in 0 1 2; do
    [ \$(sqlite3 results/shards/g-\$k.db \"SELECT count(*) FROM runs WHERE status='done'\") = 2 ] || exit 1; done"
check shards_disjoint_and_cover_the_grid bash -c "
    cmp -s <(for k in 0 1 2; do sqlite3 results/shards/g-\$k.db \"SELECT id FROM runs WHERE status='done'\"; done | sort) \
           <(sqlite3 one.db \"SELECT id FROM runs WHERE status='done' ORDER BY id\")"
# Position in the plan: shard 1 of 3 has the points 1 and 4.
check shard_takes_plan_positions_k_mod_n test "$(q results/shards/g-1.db \
    "SELECT group_concat(position) FROM (SELECT position FROM experiment_runs JOIN runs ON id = run_id
     WHERE status = 'done' ORDER BY position)")" = "1,4"

"$LDE" merge results/shards/g-0.db >/dev/null 2>&1
out=$("$LDE" status 2>&1)
check status_shows_shard_progress grep -q "results/shards/g-0.db: 2 done$" <<<"$out"
check status_shows_unmerged_shards grep -q "results/shards/g-1.db: 2 done; 2 not merged" <<<"$out"
"$LDE" merge --experiment g >/dev/null 2>merge.txt
check merge_exit_0 test $? -eq 0
check merge_reports_copies grep -q "g-2.db: 2 run(s) copied, 0 kept" merge.txt
check merge_reports_kept grep -q "g-0.db: 0 run(s) copied, 2 kept" merge.txt
check merged_same_run_ids cmp -s <(done_ids results/lde.db) <(done_ids one.db)
check merged_same_numbers_bit_for_bit cmp -s <(numbers results/lde.db) <(numbers one.db)
check merged_plan_order test "$(q results/lde.db "SELECT group_concat(position) FROM
    (SELECT position FROM experiment_runs ORDER BY position)")" = "0,1,2,3,4,5"
check status_after_merge_all_done grep -q "g: 6 runs, 6 done" <<<"$("$LDE" status 2>&1)"
before=$(q results/lde.db .dump | md5sum)
"$LDE" merge results/shards/g-0.db results/shards/g-1.db results/shards/g-2.db >/dev/null 2>merge2.txt
check merge_twice_exit_0 test $? -eq 0
check merge_twice_changes_nothing test "$(q results/lde.db .dump | md5sum)" = "$before"
check merge_twice_reports_kept grep -q "g-0.db: 0 run(s) copied, 2 kept" merge2.txt

# A shard whose run has other numbers than the main database's: a conflict.
cp results/shards/g-0.db bad.db
id=$(q bad.db "SELECT id FROM runs WHERE status='done' LIMIT 1")
q bad.db "UPDATE evals SET mean_bpd = mean_bpd + 1e-9 WHERE run_id='$id' AND split='val'"
"$LDE" merge bad.db >/dev/null 2>conflict.txt
check merge_conflict_exit_1 test $? -eq 1
check merge_conflict_names_run grep -q "conflict: run $id is done in results/lde.db and in bad.db" \
    conflict.txt
check merge_conflict_says_kept grep -q "1 conflicting run(s) (see above); results/lde.db kept its own" \
    conflict.txt
check merge_conflict_overwrites_nothing test "$(q results/lde.db .dump | md5sum)" = "$before"
# A shard run that is only running (a killed task) is not copied over a pending one.
cp results/shards/g-1.db killed.db
kid=$(q killed.db "SELECT id FROM runs WHERE status='done' LIMIT 1")
q killed.db "UPDATE runs SET status='running' WHERE id='$kid'"
"$LDE" merge --into part.db killed.db >/dev/null 2>&1
check merge_running_not_copied test "$(q part.db "SELECT status FROM runs WHERE id='$kid'")" = pending
check merge_running_no_evals test "$(q part.db "SELECT count(*) FROM evals WHERE run_id='$kid'")" -eq 0

# --runs: only the listed points, split by their index among them (plan order).
q one.db "SELECT run_id FROM experiment_runs WHERE experiment='g' AND position IN (5, 1, 2)
          ORDER BY position DESC" >list.txt
"$LDE" run g.yaml --runs list.txt --shard 1/2 --db l.db --models m3 >/dev/null 2>&1
check runs_list_shard_picks_second_listed test "$(q l.db "SELECT group_concat(position) FROM
    experiment_runs JOIN runs ON id = run_id WHERE status = 'done'")" = 2
echo 0123456789abcdef0123456789abcdef >>list.txt
expect_exit runs_list_unknown_id_exit_2 2 "list.txt:4: run 0123456789abcdef0123456789abcdef is not in" \
    "$LDE" run g.yaml --runs list.txt --shard 0/2 --db l.db
expect_exit shard_out_of_range_exit_2 2 "--shard 3/3: expected K/N" "$LDE" run g.yaml --shard 3/3
expect_exit shard_malformed_exit_2 2 "--shard 1: expected K/N" "$LDE" run g.yaml --shard 1
expect_exit merge_missing_shard_exit_2 2 "nope.db: no database here" "$LDE" merge nope.db
expect_exit merge_no_shards_exit_2 2 "no shard databases zz-K.db" "$LDE" merge --experiment zz

# lde slurm --dry-run: the script of the points not done, nothing submitted.
mkdir s && cd s || exit 1
"$LDE" slurm ../g.yaml --parallel 2 --time 00:10:00 --mem 1G --dry-run >job.txt 2>err.txt
check slurm_dry_run_exit_0 test $? -eq 0
check slurm_dry_run_prints_script grep -q "^#SBATCH --array=0-5%2$" job.txt
check slurm_dry_run_writes_script cmp -s job.txt results/slurm/g/job.sh
check slurm_script_options grep -q "^#SBATCH --time=00:10:00$" job.txt
check slurm_script_log_names grep -q "^#SBATCH --output=$PWD/results/slurm/g/%A_%a.out$" job.txt
check slurm_script_task_command grep -q \
    "^    --shard \"\$SLURM_ARRAY_TASK_ID/\$SLURM_ARRAY_TASK_COUNT\"" job.txt
# The lde binary and the config by absolute path (the tasks may start elsewhere).
exe=$(awk '/^exec /{print $2}' job.txt)
check slurm_script_absolute_lde test "${exe:0:1}" = / -a -x "$exe"
check slurm_script_absolute_config grep -q "^exec $exe run $E2E_TMP/g.yaml" job.txt
check slurm_run_list_has_every_point test "$(grep -vc '^#' results/slurm/g/runs-*.txt)" -eq 6
check slurm_dry_run_no_database test ! -e results/lde.db
"$LDE" slurm ../g.yaml --tasks 4 --dry-run >job4.txt 2>/dev/null
check slurm_tasks_caps_array grep -q "^#SBATCH --array=0-3$" job4.txt
expect_exit slurm_bad_time_exit_2 2 "--time '1 h': unexpected character" \
    "$LDE" slurm ../g.yaml --time "1 h" --dry-run

# Stand-ins for sbatch and squeue: sbatch runs the array's tasks here, one after
# the other (a task's SLURM_ARRAY_TASK_ID and _COUNT as Slurm sets them), and
# prints a job id; squeue says the job has left the queue.
mkdir bin
cat >bin/sbatch <<'SH'
#!/usr/bin/env bash
script=${!#}
range=$(sed -n 's/^#SBATCH --array=0-\([0-9]*\).*/\1/p' "$script")
for i in $(seq 0 "$range"); do
    SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=$((range + 1)) bash "$script" >/dev/null 2>&1
done
echo "$*" >sbatch_args.txt
echo 4242
SH
printf '#!/bin/sh\necho "slurm_load_jobs error: Invalid job id specified"; exit 1\n' >bin/squeue
chmod +x bin/sbatch bin/squeue
PATH=$PWD/bin:$PATH "$LDE" slurm ../g.yaml --tasks 4 --extra "--qos=low --nice=5" --wait \
    >job_id.txt 2>wait.txt
check slurm_wait_exit_0 test $? -eq 0
check slurm_prints_job_id test "$(cat job_id.txt)" = 4242
check slurm_records_job_id test "$(cat results/slurm/g/job_id)" = 4242
check slurm_passes_extra grep -q -- "--parsable --qos=low --nice=5 " sbatch_args.txt
check slurm_wait_merges cmp -s <(numbers results/lde.db) <(numbers ../one.db)
check slurm_wait_says_all_done grep -q "g: 6 of 6 point(s) done" wait.txt
# Again: the shards are merged and removed, and nothing is left to submit.
PATH=$PWD/bin:$PATH "$LDE" slurm ../g.yaml >/dev/null 2>again.txt
check slurm_again_nothing_to_submit grep -q "all 6 point(s) done in .*; nothing to submit" again.txt
check slurm_again_removes_merged_shards test -z "$(ls results/shards)"
finish
