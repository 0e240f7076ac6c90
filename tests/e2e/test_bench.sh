#!/usr/bin/env bash
# test_bench.sh — `lde bench --quick --json` prints one well-formed object per flow
# (vectors and images) and backbone case and mode, with positive figures (a
# correctness test: no timing is asserted).
#
# Under `make valgrind` (E2E_VALGRIND=1) the oneDNN models are left out, one --only
# run per other model: valgrind cannot follow oneDNN's run-time generated kernels,
# whose vector loads read past the end of oneDNN's own buffers (harmless on the
# hardware, reported as invalid reads). Those paths run under ASan and UBSan in
# make check SAN=1, and as a real binary in make check.
. "$(dirname "$0")/lib.sh"

VG=${E2E_VALGRIND:-0}
if [ "$VG" = 1 ]; then
    out=$(for m in glow realnvp resflow realnvp-px backbone; do
        "$LDE" bench --quick --json --only "$m" 2>>"$E2E_TMP/err" || echo "exit $?"
    done)
    check bench_quick_exits_zero test "$(grep -c '^exit' <<<"$out")" -eq 0
else
    out=$("$LDE" bench --quick --json 2>"$E2E_TMP/err")
    check bench_quick_exits_zero test $? -eq 0
fi

num='[0-9]+(\.[0-9]+)?'
line_re="^\{\"arch\":\"(glow|realnvp|resflow|realnvp-px|realnvp-px-onednn)\",\"d\":[0-9]+,\"hidden\":[0-9]+,\"blocks\":[0-9]+,\"batch\":[0-9]+,\"mode\":\"(train|eval|eval_series)\",\"samples_per_s\":$num,\"gflops\":$num,\"peak_gflops\":$num\}$"
bb_re="^\{\"model\":\"backbone\",\"arch\":\"cnn\",\"conv\":\"(im2col|onednn)\",\"batch\":8,\"mode\":\"(train|extract)\",\"images_per_s\":$num,\"gflops\":$num,\"peak_gflops\":$num\}$"
bad=$(grep -Ev -- "$line_re" <<<"$out" | grep -Evc -- "$bb_re")
check bench_json_lines_have_every_field test "$bad" -eq 0

for arch in glow realnvp; do
    for mode in train eval; do
        n=$(grep -c "\"arch\":\"$arch\".*\"mode\":\"$mode\"" <<<"$out")
        check "bench_reports_${arch}_${mode}" test "$n" -ge 2
    done
done

for mode in train eval eval_series; do
    n=$(grep -c "\"arch\":\"resflow\".*\"mode\":\"$mode\"" <<<"$out")
    check "bench_reports_resflow_${mode}" test "$n" -ge 1
done

convs=("" -onednn)
[ "$VG" = 1 ] && convs=("")
for conv in "${convs[@]}"; do
    for mode in train eval; do
        n=$(grep -c "\"arch\":\"realnvp-px$conv\".*\"mode\":\"$mode\"" <<<"$out")
        check "bench_reports_image_realnvp${conv}_${mode}" test "$n" -eq 1
    done
done

# the backbone with each conv implementation, at the batch it ran (8 under --quick)
if [ "$VG" = 1 ]; then
    check bench_reports_backbone_train_and_extract test "$(grep -Ec -- "$bb_re" <<<"$out")" -eq 2
else
    check bench_reports_backbone_train_and_extract test "$(grep -Ec -- "$bb_re" <<<"$out")" -eq 4
    check bench_reports_backbone_onednn test "$(grep -c '"conv":"onednn"' <<<"$out")" -eq 2
fi

zero=$(grep -Ec '"(samples_per_s|images_per_s|peak_gflops)":0(\.0+)?[,}]' <<<"$out")
check bench_rates_are_positive test "$zero" -eq 0

expect_exit bench_rejects_unknown_option 2 "unknown option '--fast'" "$LDE" bench --fast
expect_exit bench_only_rejects_unknown_model 2 "no such model" "$LDE" bench --quick --only nothing
expect_exit bench_only_rejects_bad_batch 2 "positive batch size" "$LDE" bench --quick --only glow:x

# --only measures one model (for perf record), at one batch size when given.
only=$("$LDE" bench --quick --json --only glow:8)
check bench_only_one_model_one_batch test "$(grep -c '"arch":"glow","d":16,"hidden":32,"blocks":2,"batch":8' <<<"$only")" -eq 2 -a "$(wc -l <<<"$only")" -eq 2
only=$("$LDE" bench --quick --json --only backbone)
check bench_only_backbone test "$(grep -c '"model":"backbone","arch":"cnn","conv":"im2col"' <<<"$only")" -eq 2 -a "$(wc -l <<<"$only")" -eq 2
if [ "$VG" != 1 ]; then
    only=$("$LDE" bench --quick --json --only backbone-onednn)
    check bench_only_backbone_onednn test "$(grep -c '"conv":"onednn"' <<<"$only")" -eq 2 -a "$(wc -l <<<"$only")" -eq 2
fi
finish
