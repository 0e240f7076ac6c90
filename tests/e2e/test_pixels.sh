#!/usr/bin/env bash
# test_pixels.sh — a flow on pixels end to end (issue 15) on the tiny 8×8 image sets
# of tests/fixtures/pixels: every mask (and squeeze, and Glow) trains and lands in
# the store with its figure arrays, the same numbers at 1 and 2 threads, the coupling
# and latent figures are drawn from the database, and bad image files or image
# settings are refused (exit 2, one line naming the file or key, nothing written).
source "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
P=$ROOT/tests/fixtures/pixels
cd "$E2E_TMP" || exit 1

# config NAME FLOW_LINES [TRAIN] — 2 couplings of hidden 4 on the fixture images.
config() {
    cat >"$1.yaml" <<YAML
experiment: $1
seed: 0
data:
  images: {train: $P/train.npy, val: $P/val.npy, ood: {noise: $P/noise.npy, flat: $P/flat.npy}}
flow:
$2
  blocks: 2
  hidden: 4
train:
  epochs: 1
  batch_size: 32
  lr: 1.0e-3
  eval_every: 0.5
YAML
}

config masks "  arch: [realnvp, glow]
  mask: [checkerboard, horizontal, cycle]"
check pixels_grid_runs "$LDE" run masks.yaml --db m1.db
[ "$(q m1.db "SELECT count(*) FROM runs WHERE status='done'")" = 6 ] &&
    pass pixels_grid_all_done || fail pixels_grid_all_done "$(q m1.db 'SELECT id, status, error FROM runs')"
# bpd of 8-bit images: positive and below 8 + a few bits, never NaN
bad=$(q m1.db "SELECT count(*) FROM evals WHERE mean_bpd IS NULL OR mean_bpd <= 0 OR mean_bpd > 16")
[ "$bad" = 0 ] && pass pixels_bpd_in_image_units || fail pixels_bpd_in_image_units "$bad rows"
# figure arrays: image, 2 couplings × 3, z and zmean, for val and the first OOD set
n=$(q m1.db "SELECT count(*) FROM arrays GROUP BY run_id" | sort -u)
[ "$n" = 18 ] && pass pixels_arrays_stored || fail pixels_arrays_stored "counts $n"

# Under valgrind (make valgrind) the two extra grids repeat paths already checked.
if [ "${E2E_VALGRIND:-0}" != 1 ]; then
    OMP_NUM_THREADS=1 "$LDE" run masks.yaml --db t1.db >/dev/null 2>&1
    OMP_NUM_THREADS=2 "$LDE" run masks.yaml --db t2.db >/dev/null 2>&1
    a=$(numbers t1.db; q t1.db "SELECT run_id, name, hex(data) FROM arrays ORDER BY 1, 2")
    b=$(numbers t2.db; q t2.db "SELECT run_id, name, hex(data) FROM arrays ORDER BY 1, 2")
    [ -n "$a" ] && [ "$a" = "$b" ] && pass pixels_same_bits_one_and_two_threads ||
        fail pixels_same_bits_one_and_two_threads
fi

config squeeze "  arch: realnvp
  mask: channel
  squeeze: 1"
check pixels_channel_mask_with_squeeze "$LDE" run squeeze.yaml --db m1.db
[ "$(q m1.db "SELECT status FROM runs r JOIN experiment_runs e ON e.run_id = r.id
              WHERE e.experiment = 'squeeze'")" = done ] &&
    pass pixels_squeeze_run_done || fail pixels_squeeze_run_done

if command -v gnuplot >/dev/null; then
    out=$("$LDE" plot masks --db m1.db --kind coupling --out plots 2>&1)
    [ "$(ls plots/masks/coupling_*.png 2>/dev/null | wc -l)" = 6 ] &&
        pass pixels_coupling_figures || fail pixels_coupling_figures "$out"
    out=$("$LDE" plot masks --db m1.db --kind latent --out plots 2>&1)
    [ "$(ls plots/masks/latent_*.png 2>/dev/null | wc -l)" = 6 ] &&
        pass pixels_latent_figures || fail pixels_latent_figures "$out"
    # matrix blocks: 2 couplings × (3 panels × 2 images), 8 rows of 8 values each
    f=$(ls plots/masks/coupling_*.dat | head -n 1)
    [ "$(grep -c . "$f")" = $((12 * 8)) ] && pass pixels_coupling_data_blocks ||
        fail pixels_coupling_data_blocks "$(grep -c . "$f") lines"
fi

# A latent experiment has no such arrays: the kind says what has them.
F=$ROOT/tests/fixtures/runner
cat >latent.yaml <<YAML
experiment: latent
data:
  features: {train: $F/train.npy, val: $F/val.npy, ood: {far: $F/far.npy}}
flow: {arch: realnvp, blocks: 2, hidden: 8}
YAML
"$LDE" run latent.yaml --db m1.db >/dev/null 2>&1
expect_exit pixels_coupling_needs_pixel_runs 2 "no coupling arrays stored; a flow on pixels" \
    "$LDE" plot latent --db m1.db --kind coupling --out plots

# lde score takes feature vectors: a pixel model is refused with the reason.
id=$(q m1.db "SELECT run_id FROM experiment_runs WHERE experiment = 'masks' ORDER BY run_id LIMIT 1")
model=results/models/$id.flow
printf '\x93NUMPY\x01\x00\x76\x00{"descr": "<f4", "fortran_order": False, "shape": (1, 64), }' >x.npy
printf '%*s\n' 47 '' >>x.npy
head -c 256 /dev/zero >>x.npy
[ -n "$id" ] && expect_exit pixels_score_refuses_pixel_model 2 "a flow on pixels; lde score takes feature vectors" \
    "$LDE" score --model "$model" --features x.npy

# flow.conv: onednn (oneDNN's convs; hidden 16 takes its Winograd kernel): the run
# lands under its own id (the im2col run keeps the id it had before the key
# existed), its numbers are close to im2col's but its own, the same at 1 and 2
# threads in separate processes, and its model file is version 4 and still loads.
# Not under valgrind (see tests/e2e/test_bench.sh: oneDNN's generated kernels).
if [ "${E2E_VALGRIND:-0}" != 1 ]; then
config conv "  arch: realnvp
  hidden: 16
  conv: [im2col, onednn]"
sed -i 's/^  hidden: 4$//' conv.yaml
config plain "  arch: realnvp
  hidden: 16"
sed -i 's/^  hidden: 4$//; s/^experiment: plain$/experiment: conv/' plain.yaml
OMP_NUM_THREADS=1 "$LDE" run conv.yaml --db c1.db >/dev/null 2>&1
OMP_NUM_THREADS=2 "$LDE" run conv.yaml --db c2.db >/dev/null 2>&1
"$LDE" run plain.yaml --db c3.db >/dev/null 2>&1
[ "$(q c1.db "SELECT count(*) FROM runs WHERE status='done'")" = 2 ] &&
    pass pixels_onednn_runs_done || fail pixels_onednn_runs_done "$(q c1.db 'SELECT id, status, error FROM runs')"
[ -n "$(done_ids c3.db)" ] && q c1.db "SELECT id FROM runs" | grep -qx "$(done_ids c3.db)" &&
    pass pixels_onednn_im2col_id_unchanged || fail pixels_onednn_im2col_id_unchanged
[ "$(numbers c1.db)" = "$(numbers c2.db)" ] && pass pixels_onednn_same_bits_one_and_two_threads ||
    fail pixels_onednn_same_bits_one_and_two_threads
# the last val bpd of the two runs: within 1e-3, and not the same bits
close=$(q c1.db "SELECT max(mean_bpd) - min(mean_bpd) < 1e-3 AND count(DISTINCT mean_bpd) = 2 FROM evals
                 WHERE split = 'val' AND step = (SELECT max(step) FROM evals)")
[ "$close" = 1 ] && pass pixels_onednn_close_to_im2col ||
    fail pixels_onednn_close_to_im2col "$(q c1.db "SELECT run_id, step, mean_bpd FROM evals WHERE split = 'val'")"
"$LDE" run conv.yaml --db c4.db --models cm >/dev/null 2>&1
versions=$(for f in cm/*.flow; do od -An -tu4 -j8 -N4 "$f"; done | tr -d ' ' | sort | tr '\n' ' ')
[ "$versions" = "3 4 " ] && pass pixels_onednn_model_version_4 || fail pixels_onednn_model_version_4 "$versions"
for f in cm/*.flow; do
    expect_exit "pixels_onednn_model_loads_$(od -An -tu4 -j8 -N4 "$f" | tr -d ' ')" 2 \
        "a flow on pixels; lde score takes feature vectors" "$LDE" score --model "$f" --features x.npy
done
fi

# Bad settings and files: exit 2, one line, the key or file, nothing written.
WORK=$E2E_TMP/work && mkdir -p "$WORK"
config resflow "  arch: resflow"
refused pixels_resflow_refused resflow.yaml "flow.arch: resflow takes feature vectors" \
    "$LDE" run "$E2E_TMP/resflow.yaml" --db x.db
config chan "  arch: realnvp
  mask: channel"
refused pixels_channel_needs_squeeze chan.yaml "flow.mask: channel masks split the channels" \
    "$LDE" run "$E2E_TMP/chan.yaml" --db x.db
config sq "  arch: realnvp
  squeeze: 4"
refused pixels_squeeze_must_divide sq.yaml "flow.squeeze: 4 levels halve the image 4 times" \
    "$LDE" run "$E2E_TMP/sq.yaml" --db x.db
cat >both.yaml <<YAML
experiment: both
data:
  features: fashion-mnist
  images: {train: $P/train.npy, val: $P/val.npy, ood: {noise: $P/noise.npy}}
YAML
refused pixels_features_and_images_refused both.yaml "give data.features or data.images, not both" \
    "$LDE" run "$E2E_TMP/both.yaml" --db x.db

# Every bad image file of tests/bad_inputs/images, in the split it stands for.
B=$ROOT/tests/bad_inputs/images
U=$ROOT/tests/fixtures/images/u8_nhw.npy
while IFS=$'\t' read -r file split pattern; do
    case "$file" in '#'* | '') continue ;; esac
    tr=$U va=$U oo=$U
    case "$split" in train) tr=$B/$file ;; val) va=$B/$file ;; ood) oo=$B/$file ;; esac
    # a shape that differs from train's is caught from the headers, at config time
    case "$file" in *_mismatch.npy) pattern="holds [0-9]+×[0-9]+×[0-9]+ images, train [0-9]+×[0-9]+×[0-9]+" ;; esac
    cat >"bad_$file.yaml" <<YAML
experiment: bad
data:
  images: {train: $tr, val: $va, ood: {x: $oo}}
flow: {arch: realnvp, blocks: 2, hidden: 4}
YAML
    refused "pixels_bad_file_${file%.npy}" "$file" "$pattern" "$LDE" run "$E2E_TMP/bad_$file.yaml" --db x.db
done <"$B/expect.txt"

finish
