#!/usr/bin/env bash
# test_run.sh — lde run end to end on small user features (tests/fixtures/runner):
# a grid finishes and lands in the SQLite file, a second run skips what is done,
# 1 and 2 threads give the same numbers, --jobs 2 gives the same numbers as one
# job, killing lde run at random moments loses nothing, a diverging or failing run
# does not stop the grid, bad input writes nothing, and lde score reproduces the
# stored bpd from the saved model.
source "$(dirname "$0")/lib.sh"
F=$(cd "$(dirname "$0")/../fixtures/runner" && pwd)
cd "$E2E_TMP" || exit 1

# config NAME SEEDS ARCHS EPOCHS [LR] — a grid on the fixture features.
config() {
    cat >"$1.yaml" <<YAML
experiment: $1
seed: $2
data:
  features: {train: $F/train.npy, val: $F/val.npy, ood: {far: $F/far.npy, near: $F/near.npy}}
preprocess:
  normalize: false
flow:
  arch: $3
  blocks: 2
  hidden: 32
train:
  epochs: $4
  batch_size: 64
  lr: ${5:-1.0e-3}
  eval_every: 0.5
YAML
}

config grid "[0, 1]" "[realnvp, glow]" 2
out=$("$LDE" run grid.yaml --db a.db --models models 2>err.txt)
rc=$?
check run_grid_exits_0 test "$rc" -eq 0
check run_grid_all_done test "$(q a.db "SELECT count(*) FROM runs WHERE status='done'")" -eq 4
# 2 epochs of 16 steps, an evaluation every 8 steps: steps 0, 8, 16, 24, 32; four
# splits (train, val, far, near) each.
check run_grid_evaluates_at_0_every_and_end \
    test "$(q a.db "SELECT group_concat(DISTINCT step) FROM evals")" = "0,8,16,24,32"
check run_grid_complete_points test "$(q a.db "SELECT count(*) FROM evals")" -eq $((4 * 5 * 4))
check run_grid_scores_per_split test "$(q a.db "SELECT count(*) FROM scores WHERE n > 0")" -eq 80
# The far blob sits 6σ away: every flow separates it completely.
check run_grid_far_ood_auroc_is_1 \
    test "$(q a.db "SELECT min(auroc) FROM evals WHERE split='far' AND step=32")" = "1.0"
check run_grid_prints_auroc_table grep -Eq "done +far 100.00 near [0-9.]+" <<<"$out"
check run_grid_summary_line grep -q "grid: 4 done, 0 skipped" err.txt
check run_saves_models test "$(ls models/*.flow | wc -l)" -eq 4
check run_records_provenance \
    test "$(q a.db "SELECT count(*) FROM runs WHERE git_rev <> '' AND threads > 0 AND wall_s > 0")" -eq 4

"$LDE" run grid.yaml --db a.db --models models >/dev/null 2>err.txt
check rerun_skips_done grep -q "grid: 0 done, 4 skipped" err.txt

# Under `make valgrind` (E2E_VALGRIND=1) the determinism and kill/resume parts are
# skipped: they run the first grid's code 9 more times, and killing at random
# moments tests timing, which valgrind distorts.
if [ "${E2E_VALGRIND:-0}" != 1 ]; then
# Determinism: the same grid at 1 and 2 threads, and as two parallel jobs.
OMP_NUM_THREADS=1 "$LDE" run grid.yaml --db t1.db --models m1 >/dev/null 2>&1
OMP_NUM_THREADS=2 "$LDE" run grid.yaml --db t2.db --models m2 >/dev/null 2>&1
OMP_NUM_THREADS=2 "$LDE" run grid.yaml --db j2.db --models mj --jobs 2 >/dev/null 2>&1
numbers t1.db >n1.txt
numbers t2.db >n2.txt
numbers j2.db >nj.txt
check same_numbers_with_1_and_2_threads cmp -s n1.txt n2.txt
check same_numbers_with_jobs_2 cmp -s n1.txt nj.txt
check same_model_with_1_and_2_threads cmp -s m1/"$(ls m1 | head -1)" m2/"$(ls m1 | head -1)"
fi

# lde score: the saved flow and preprocessing give the stored val bpd again.
id=$(q a.db "SELECT id FROM runs ORDER BY id LIMIT 1")
"$LDE" score --model "models/$id.flow" --features "$F/val.npy" --out val_bpd.npy >score.txt
want=$(q a.db "SELECT printf('%.4f', mean_bpd) FROM evals WHERE run_id='$id' AND split='val'
               AND step=32")
check score_matches_stored_val_bpd grep -q "mean $want bits/dim" score.txt
check score_writes_npy test -s val_bpd.npy

# ActNorm's data-dependent init sees a fixed sample (the first 512 rows of epoch 0's
# order), not the first batch: Glows with batch 32 and 64 evaluate identically at
# step 0 (after the init), and the two starts of the invertible linears do not.
config start 0 glow 0.5
sed -i -e "s/batch_size: 64/batch_size: [32, 64]/" \
    -e "s/  arch: glow/  arch: glow\n  linear_init: [rotation, permutation]/" start.yaml
"$LDE" run start.yaml --db s.db --models ms >/dev/null 2>&1
check actnorm_init_independent_of_batch_size test "$(q s.db "SELECT count(*) FROM evals
    WHERE step = 0 AND split = 'val'") $(q s.db "SELECT count(DISTINCT mean_bpd) FROM evals
    WHERE step = 0 AND split = 'val'")" = "4 2"

if [ "${E2E_VALGRIND:-0}" != 1 ]; then
# Kill and resume: SIGKILL at 12 random moments, then let it finish. Every run must
# end done exactly once with complete evaluation points, and the file stays sound.
config kill "[0, 1, 2]" "[realnvp, glow]" 3
RANDOM=7
for i in $(seq 12); do
    "$LDE" run kill.yaml --db k.db --models mk >/dev/null 2>&1 &
    pid=$!
    sleep "0.$((RANDOM % 9 + 1))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
done
"$LDE" run kill.yaml --db k.db --models mk >/dev/null 2>&1
check kill_resume_integrity test "$(q k.db "PRAGMA integrity_check")" = ok
check kill_resume_all_done test "$(q k.db "SELECT count(*) FROM runs WHERE status='done'")" -eq 6
# 3 epochs of 16 steps, every 8: 7 points × 4 splits per run.
check kill_resume_complete_evals \
    test "$(q k.db "SELECT count(*) FROM evals GROUP BY run_id HAVING count(*) <> 28")" = ""
check kill_resume_same_numbers_as_uninterrupted bash -c "
    '$LDE' run kill.yaml --db ku.db --models mku >/dev/null 2>&1
    cmp -s <(sqlite3 k.db 'SELECT run_id, step, split, mean_bpd, auroc FROM evals ORDER BY 1,2,3')\
           <(sqlite3 ku.db 'SELECT run_id, step, split, mean_bpd, auroc FROM evals ORDER BY 1,2,3')"
fi

# A diverging run (lr 10) is recorded as such with its step (exit 0: a result, not
# a failure); a run that fails at run time (all-zero training features with
# drop_constant: no dimension is left) is `failed` with its reason, exit 1.
config div 0 glow 1 10
"$LDE" run div.yaml --db d.db --models md >/dev/null 2>err.txt
check diverged_run_exit_0 test $? -eq 0
check diverged_run_recorded test "$(q d.db "SELECT status FROM runs")" = diverged
check diverged_run_says_step grep -q "step [0-9]*" <<<"$(q d.db "SELECT error FROM runs")"
sed -e "s|train: $F/train.npy|train: $F/dead.npy|" -e "s/experiment: div/experiment: dead/" \
    -e "s/lr: 10/lr: 1.0e-3/" -e "s/normalize: false/drop_constant: true/" div.yaml >dead.yaml
"$LDE" run dead.yaml --db x.db --models mx >/dev/null 2>err.txt
check failed_run_exit_1 test $? -eq 1
check failed_run_recorded test "$(q x.db "SELECT status FROM runs")" = failed
check failed_run_reason_printed grep -q "failed: preprocessing" err.txt
check health_check_warns_constant_dims grep -q "warning: .*8 of 8 dimensions are constant" err.txt

# Bad input: exit 2, one line, and no database or model written.
printf 'experiment: bad\nflow:\n  arch: glwo\n' >bad.yaml
expect_exit bad_config_exit_2 2 "bad.yaml:3:9" "$LDE" run bad.yaml --db bad.db --models mb
check bad_config_writes_nothing test ! -e bad.db -a ! -e mb
expect_exit unknown_option_exit_2 2 "unknown option --frobnicate" "$LDE" run grid.yaml --frobnicate
expect_exit only_unknown_id_exit_2 2 "no run id starts with 'zzzz'" \
    "$LDE" run grid.yaml --db a.db --only zzzz
finish
