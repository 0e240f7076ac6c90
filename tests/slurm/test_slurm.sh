#!/usr/bin/env bash
# test_slurm.sh — lde slurm against a real one-node Slurm (local_slurm.sh), run by
# `make check-slurm` (and CI), not by `make check`: it installs slurm-wlm and munge
# when missing and needs root to run their daemons.
#
# 1. A 6-point grid through `lde slurm --wait` (6 array tasks, 2 at a time) gives
#    the database a single `lde run` gives: same run ids, same numbers bit for bit.
# 2. One task of an array is cancelled (scancel JOB_5) while its point runs; a
#    second `lde slurm` merges the 5 finished points and submits only the missing
#    one, and the main database ends with all 6 done, the 5 not recomputed.
source "$(dirname "$0")/../e2e/lib.sh"
source "$(dirname "$0")/local_slurm.sh"
F=$(cd "$(dirname "$0")/../fixtures/runner" && pwd)
cd "$E2E_TMP" || exit 1
trap 'slurm_stop; rm -rf "$E2E_TMP"' EXIT
if ! slurm_start "$E2E_TMP/slurm"; then
    fail slurm_starts "see the logs above"
    finish
fi
pass slurm_starts

# config NAME [EPOCHS EVAL_EVERY] — 6 points on the fixture features, the last
# one trained for EPOCHS (default 0.5, like the others) and evaluated every
# EVAL_EVERY epochs (default 0.25).
config() {
    cat >"$1.yaml" <<YAML
experiment: $1
zip:
  seed: [0, 1, 2, 3, 4, 5]
  train.epochs: [0.5, 0.5, 0.5, 0.5, 0.5, ${2:-0.5}]
  train.eval_every: [0.25, 0.25, 0.25, 0.25, 0.25, ${3:-0.25}]
data:
  features: {train: $F/train.npy, val: $F/val.npy, ood: {far: $F/far.npy, near: $F/near.npy}}
preprocess:
  normalize: false
flow:
  arch: glow
  blocks: 2
  hidden: 16
train:
  batch_size: 64
  lr: 1.0e-3
YAML
}
# waits up to $2 seconds for the shell condition $1
wait_until() {
    local i
    for i in $(seq "$(($2 * 2))"); do eval "$1" && return 0; sleep 0.5; done
    return 1
}

# 1. The whole grid as an array, against one machine.
config grid
"$LDE" run grid.yaml --db one.db --models m1 >/dev/null 2>&1
mkdir a && cd a || exit 1
timeout 300 "$LDE" slurm ../grid.yaml --parallel 2 --wait >job.txt 2>err.txt
rc=$?
check slurm_wait_exit_0 test $rc -eq 0
[ $rc -eq 0 ] || cat err.txt
job=$(cat job.txt)
check slurm_prints_job_id grep -Eq '^[0-9]+$' job.txt
check slurm_one_task_per_point grep -q "submitted array job $job: 6 task(s) for 6 point(s)" err.txt
check slurm_task_logs test "$(ls results/slurm/grid/"${job}"_*.out | wc -l)" -eq 6
check slurm_merged_same_run_ids cmp -s <(done_ids results/lde.db) <(done_ids ../one.db)
check slurm_merged_same_numbers_bit_for_bit cmp -s <(numbers results/lde.db) <(numbers ../one.db)
check slurm_tasks_ran_on_slurm test "$(q results/lde.db "SELECT count(DISTINCT host) FROM runs")" -eq 1
cd .. || exit 1

# 2. Cancel one task while its (long) point runs, then submit again.
# The last point: 10000 epochs (about 10 s alone), evaluated at 0, 5000, 10000.
config cut 10000 5000
mkdir b && cd b || exit 1
"$LDE" slurm ../cut.yaml --parallel 2 >job.txt 2>err.txt
rc=$?
check slurm_submit_exit_0 test $rc -eq 0
[ $rc -eq 0 ] || cat err.txt
job=$(cat job.txt)
# Task 5's point has begun when its shard database says so.
running() { [ "$(q results/shards/cut-5.db "SELECT count(*) FROM runs WHERE status='running'" 2>/dev/null)" = 1 ]; }
check slurm_long_task_starts wait_until running 120
out=$("$LDE" status 2>&1)
check status_shows_running_shard grep -q "results/shards/cut-5.db: 1 running" <<<"$out"
scancel "${job}_5"
check slurm_array_ends_after_cancel wait_until "[ -z \"\$(squeue -h -j $job 2>/dev/null)\" ]" 120
check slurm_cancelled_point_left_running test "$(q results/shards/cut-5.db \
    "SELECT count(*) FROM runs WHERE status='done'")" -eq 0
timeout 300 "$LDE" slurm ../cut.yaml --wait >job2.txt 2>err2.txt
rc=$?
check slurm_resubmit_exit_0 test $rc -eq 0
[ $rc -eq 0 ] || cat err2.txt
check slurm_resubmit_merges_first grep -q "cut-0.db: 1 run(s) copied" err2.txt
check slurm_resubmit_only_missing grep -q "1 task(s) for 1 point(s)" err2.txt
check slurm_resubmit_all_done test "$(done_ids results/lde.db | wc -l)" -eq 6
# The second array computed the missing point only (its one shard database).
check slurm_resubmit_computed_only_missing test "$(ls results/shards)" = cut-0.db -a \
    "$(q results/shards/cut-0.db "SELECT group_concat(seed) FROM runs WHERE status = 'done'")" = 5
check slurm_resubmit_complete_evals test "$(q results/lde.db \
    "SELECT count(*) FROM evals WHERE run_id = (SELECT id FROM runs WHERE seed = 5)")" -eq $((3 * 4))
finish
