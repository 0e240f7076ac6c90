#!/usr/bin/env bash
# test_features.sh — `lde features` on a few hundred real Fashion-MNIST images:
# builds (1 thread), then hits the cache in well under a second; same bits at 2 threads;
# a build killed mid-way is never used; id classes add the heldout set; bad options
# exit 2 with one line.
. "$(dirname "$0")/lib.sh"

small=(--limit 200 --epochs 1)
n=200 width=256
# Under `make valgrind` (E2E_VALGRIND=1) a tiny backbone on 16 images: the default
# one on 200 images did not finish its first build in 17 minutes under valgrind.
if [ "${E2E_VALGRIND:-0}" = 1 ]; then
    small=(--limit 16 --epochs 1 --channels 8,16)
    n=16 width=16
fi
out="$E2E_TMP/f"

OMP_NUM_THREADS=1 "$LDE" features "${small[@]}" --out "$out" >"$E2E_TMP/first" 2>"$E2E_TMP/first.err"
check features_builds_and_reports grep -Eq '^accuracy +[0-9.]+%' "$E2E_TMP/first"
dir=$(awk '/^features/ {print $2}' "$E2E_TMP/first")
check features_writes_every_file test -s "$dir/train.npy" -a -s "$dir/val_logits.npy" \
    -a -s "$dir/ood_digits.npy" -a -s "$dir/ood_vflip_logits.npy" -a -s "$dir/head_W.npy" \
    -a -s "$dir/head_b.npy" -a -s "$dir/train_labels.npy" -a -s "$dir/backbone.bin" \
    -a -s "$dir/manifest.json"
check features_shapes_printed grep -Eq "^  train +$n x $width\$" "$E2E_TMP/first"
check features_npy_magic cmp -n 6 "$dir/train.npy" <(printf '\x93NUMPY')
check features_one_line_per_epoch_when_not_a_tty grep -q '^epoch 1/1: loss' "$E2E_TMP/first.err"

# Under `make valgrind` one build and its cache hit are checked; the timing, the
# 2-thread build and the kill/rebuild parts (three more backbone trainings through
# the same code) are skipped.
start=$(date +%s%N)
"$LDE" features "${small[@]}" --out "$out" >"$E2E_TMP/second"
ms=$((($(date +%s%N) - start) / 1000000))
check features_second_call_is_a_cache_hit grep -q 'cache hit' "$E2E_TMP/second"
[ "${E2E_VALGRIND:-0}" = 1 ] || check features_cache_hit_under_a_second test "$ms" -lt 1000

# A truncated file of the entry fails the manifest's checksum (issue 20): the
# entry is never used but built again, with the same bytes.
cp "$dir/train.npy" "$E2E_TMP/train.copy"
truncate -s $(($(stat -c %s "$dir/train.npy") / 2)) "$dir/train.npy"
"$LDE" features "${small[@]}" --out "$out" >"$E2E_TMP/third" 2>"$E2E_TMP/third.err"
check features_truncated_entry_named grep -q "train.npy failed its checksum" "$E2E_TMP/third.err"
check features_truncated_entry_rebuilt grep -q 'built in' "$E2E_TMP/third"
check features_truncated_entry_same_bytes cmp "$dir/train.npy" "$E2E_TMP/train.copy"

if [ "${E2E_VALGRIND:-0}" != 1 ]; then
# Same seed at 1 thread (above) and 2 threads: the same feature bytes.
OMP_NUM_THREADS=2 "$LDE" features "${small[@]}" --out "$E2E_TMP/t2" >/dev/null 2>&1
check features_same_bytes_at_one_and_two_threads cmp "$dir/train.npy" "$E2E_TMP"/t2/*/train.npy
check features_same_ood_bytes_at_one_and_two_threads \
    cmp "$dir/ood_gaussian.npy" "$E2E_TMP"/t2/*/ood_gaussian.npy

# --conv onednn (data.backbone.conv): its own cache key, the same bytes at 1 and 2
# threads (each process configures oneDNN afresh), features near im2col's.
OMP_NUM_THREADS=1 "$LDE" features "${small[@]}" --conv onednn --out "$E2E_TMP/d1" >"$E2E_TMP/d1.out" 2>&1
OMP_NUM_THREADS=2 "$LDE" features "${small[@]}" --conv onednn --out "$E2E_TMP/d2" >/dev/null 2>&1
d1=$(awk '/^features/ {print $2}' "$E2E_TMP/d1.out")
check features_onednn_own_key test -n "$d1" -a "$(basename "$d1")" != "$(basename "$dir")"
check features_onednn_said grep -q 'oneDNN convs' "$E2E_TMP/d1.out"
check features_onednn_same_bytes_at_one_and_two_threads cmp "$d1/train.npy" "$E2E_TMP"/d2/*/train.npy
check features_onednn_backbone_file_v2 cmp -n 7 "$d1/backbone.bin" <(printf 'LDEBB2\n')
check features_im2col_backbone_file_v1 cmp -n 7 "$dir/backbone.bin" <(printf 'LDEBB1\n')
expect_exit features_bad_conv 2 "--conv: 'gemm', expected im2col or onednn" "$LDE" features --conv gemm

# Kill a build as soon as its temporary directory exists: no key directory appears,
# and the next call builds it afresh and removes the leftovers.
killed=(--limit 200 --epochs 1 --id-classes 0,1,2)
"$LDE" features "${killed[@]}" --out "$E2E_TMP/k" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 200); do
    compgen -G "$E2E_TMP/k/.tmp-*" >/dev/null && break
    sleep 0.05
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
complete=$(find "$E2E_TMP/k" -mindepth 1 -maxdepth 1 -type d ! -name '.tmp-*' | wc -l)
check features_killed_build_leaves_no_cache test "$complete" -eq 0
"$LDE" features "${killed[@]}" --out "$E2E_TMP/k" >"$E2E_TMP/rebuilt" 2>/dev/null
check features_after_kill_rebuilds grep -q 'built in' "$E2E_TMP/rebuilt"
check features_leftovers_removed test -z "$(compgen -G "$E2E_TMP/k/.tmp-*")"
check features_id_classes_add_heldout grep -Eq '^  ood_heldout +[0-9]+ x 256$' "$E2E_TMP/rebuilt"
fi

expect_exit features_bad_backbone_exits_2 2 "--backbone: 'resnet'" \
    "$LDE" features --backbone resnet --out "$out"
expect_exit features_bad_id_classes_exits_2 2 "12" "$LDE" features --id-classes 1,12 --out "$out"
expect_exit features_unknown_option_exits_2 2 "unknown option" "$LDE" features --frobnicate 1

finish
