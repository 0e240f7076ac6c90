#!/usr/bin/env bash
# test_baselines.sh — lde baselines and the baselines of lde run, end to end on the
# small user features of tests/fixtures/runner (with a nearest-centre head and
# labels): rows land in the store with per-sample scores, a second call computes
# nothing, lde run reuses them, ODIN on user features and methods without a head
# are reported unavailable, and a changed option is a new row.
source "$(dirname "$0")/lib.sh"
F=$(cd "$(dirname "$0")/../fixtures/runner" && pwd)
cd "$E2E_TMP" || exit 1

# config NAME EXTRA_FEATURE_KEYS BASELINES — one tiny flow on the fixture features.
config() {
    cat >"$1.yaml" <<YAML
experiment: $1
data:
  features:
    train: $F/train.npy
    val: $F/val.npy
    ood: {far: $F/far.npy, near: $F/near.npy}
    $2
flow:
  arch: realnvp
  blocks: 2
  hidden: 16
train:
  epochs: 0.5
  batch_size: 64
  eval_every: 0.5
baselines: $3
YAML
}
q() { sqlite3 a.db "$1"; }
HEAD="head: {W: $F/head_W.npy, b: $F/head_b.npy}
    train_labels: $F/train_labels.npy"

config full "$HEAD" "[msp, energy, odin, react, mahalanobis, knn]"
out=$("$LDE" baselines full.yaml --db a.db 2>err.txt)
check baselines_exits_0 test $? -eq 0
check baselines_five_methods_two_ood_sets_stored test "$(q "SELECT count(*) FROM baselines")" -eq 10
check baselines_store_per_sample_scores \
    test "$(q "SELECT count(*) FROM baselines WHERE length(id_scores) = 4 * 256 AND
                 length(ood_scores) = 4 * 256 AND n_id = 256 AND n_ood = 256")" -eq 10
check baselines_store_every_metric \
    test "$(q "SELECT count(*) FROM baselines WHERE auroc BETWEEN 0 AND 1 AND fpr95 BETWEEN 0 AND 1
                 AND aupr_in BETWEEN 0 AND 1 AND aupr_out BETWEEN 0 AND 1")" -eq 10
# The far blob sits 6σ away from every cluster: Mahalanobis separates it fully
# (KNN sees only directions after L2 normalisation, and still nearly so).
check baselines_far_separated_by_mahalanobis \
    test "$(q "SELECT auroc FROM baselines WHERE ood = 'far' AND method = 'mahalanobis'")" = "1.0"
check baselines_far_nearly_separated_by_knn \
    test "$(q "SELECT auroc > 0.95 FROM baselines WHERE ood = 'far' AND method = 'knn'")" -eq 1
check baselines_odin_on_user_features_reported_unavailable \
    grep -q "odin unavailable on features user-[0-9a-f]*: .*built-in backbone" err.txt
check baselines_odin_not_stored test "$(q "SELECT count(*) FROM baselines WHERE method = 'odin'")" -eq 0
check baselines_table_has_a_row_per_method \
    test "$(grep -cE '^\| (msp|energy|odin|react|mahalanobis|knn) ' <<<"$out")" -eq 6
check baselines_table_marks_odin_na grep -qE '^\| odin +\| n/a +\| n/a' <<<"$out"
check baselines_table_mahalanobis_far_100 grep -qE '^\| mahalanobis +\| 100.00 ' <<<"$out"
check baselines_link_experiment_to_features \
    test "$(q "SELECT count(*) FROM experiment_features WHERE experiment = 'full'")" -eq 1
check baselines_keyed_by_the_linked_features \
    test "$(q "SELECT count(DISTINCT b.features) FROM baselines b JOIN experiment_features f
                 ON f.features = b.features")" -eq 1

stamp=$(q "SELECT group_concat(created_at || hex(id_scores)) FROM baselines")
sleep 1
"$LDE" baselines full.yaml --db a.db >out2.txt 2>err2.txt
check baselines_second_call_exits_0 test $? -eq 0
check baselines_second_call_computes_nothing grep -q "full: 1 feature set, 0 baselines computed" err2.txt
check baselines_second_call_rewrites_nothing \
    test "$(q "SELECT group_concat(created_at || hex(id_scores)) FROM baselines")" = "$stamp"
check baselines_second_call_same_table diff <(echo "$out") out2.txt

# lde run with the same baselines: the flow runs, the baselines are found.
"$LDE" run full.yaml --db a.db --models models >/dev/null 2>err3.txt
check run_with_baselines_exits_0 test $? -eq 0
check run_reuses_stored_baselines test "$(grep -c "^baselines: .* in [0-9.]* s" err3.txt)" -eq 0
check run_still_runs_the_flow test "$(q "SELECT count(*) FROM runs WHERE status = 'done'")" -eq 1
check run_rewrites_no_baseline \
    test "$(q "SELECT group_concat(created_at || hex(id_scores)) FROM baselines")" = "$stamp"
# lde table finds the experiment's feature set by itself and puts the methods above
# the flow's row.
"$LDE" table full --db a.db --baselines >table.txt 2>&1
check table_baselines_exits_0 test $? -eq 0
check table_baselines_rows_above_flow \
    test "$(grep -nE '^\| *(msp|energy|mahalanobis|knn|react) ' table.txt | wc -l)" -ge 4

# A changed option is a different row; the defaults are not recomputed.
config k10 "$HEAD" "{knn: {k: 10}, msp: }"
"$LDE" baselines k10.yaml --db a.db >/dev/null 2>err4.txt
check baselines_changed_option_is_a_new_row \
    test "$(q "SELECT count(*) FROM baselines WHERE method = 'knn[k=10]'")" -eq 2
check baselines_changed_option_only_computes_it grep -q "k10: 1 feature set, 1 baseline computed" err4.txt

# No head, no labels: only KNN can run; the others say why.
config bare "" "[msp, mahalanobis, knn]"
"$LDE" baselines bare.yaml --db b.db >/dev/null 2>err5.txt
check baselines_without_head_exits_0 test $? -eq 0
check baselines_without_head_reports_msp grep -q "msp unavailable .*classifier head" err5.txt
check baselines_without_labels_reports_mahalanobis grep -q "mahalanobis unavailable .*train_labels" err5.txt
check baselines_without_head_stores_knn \
    test "$(sqlite3 b.db "SELECT group_concat(DISTINCT method) FROM baselines")" = "knn"

expect_exit baselines_missing_config 2 "no config given" "$LDE" baselines --db a.db
expect_exit baselines_unknown_option 2 "unknown option --frob" "$LDE" baselines full.yaml --frob
finish
