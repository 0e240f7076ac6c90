#!/usr/bin/env bash
# test_bad_inputs.sh — every malformed input file in tests/bad_inputs/ (npy, idx,
# model; the configs have test_bad_configs.sh) is refused by each real lde command
# that reads it: exit 2, one line naming the file and the problem, and nothing
# written (no database, model, score file or feature cache appears in the working
# directory). Readers: .npy through `lde inspect`, `lde score --features` and `lde
# run` (as training features); Fashion-MNIST idx files (LDE_FMNIST_DIR) through
# `lde datasets`, `lde features` and `lde run` on built-in features; model files
# through `lde score --model`. A directory in place of each kind of file is refused
# the same way. Under `make valgrind` (E2E_VALGRIND=1) the idx cases that must first
# decompress the real 47 MB training images run through `lde datasets` only, and
# the bad .npy files go through `lde run` only for the NaN and directory cases.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BAD=$ROOT/tests/bad_inputs
F=$ROOT/tests/fixtures/runner
MODEL=$ROOT/tests/fuzz/corpus/modelfile/realnvp_d8_h4.flow # d = 8, like $F/*.npy
FMNIST=/usr/share/datasets/fashion-mnist
export LDE_DIGITS=$ROOT/results/cache/digits.csv.gz
WORK=$E2E_TMP/work
mkdir -p "$WORK"


# run_config FEATURES — a one-point grid on that data.features value, written
# outside $WORK. A bad .npy is every split at once, so that shapes agree and its own
# problem is the one reported.
run_config() {
    local features=$1
    cat >"$E2E_TMP/run.yaml" <<YAML
experiment: bad
seed: 0
data:
  features: $features
flow:
  arch: realnvp
  blocks: 2
  hidden: 4
train:
  epochs: 1
  batch_size: 64
YAML
    echo "$E2E_TMP/run.yaml"
}
run_args() { echo --db "$WORK/lde.db" --models "$WORK/models" --features "$WORK/features"; }

# ---- .npy ----------------------------------------------------------------------
# A valid header with a NaN in the data (row 3, column 2): only the full reader,
# at run time, can see it.
cp "$F/val.npy" "$E2E_TMP/nan_row3.npy"
printf '\x00\x00\xc0\x7f' | dd of="$E2E_TMP/nan_row3.npy" bs=1 seek=$((128 + 4 * (8 * 3 + 2))) \
    conv=notrunc status=none
mkdir "$E2E_TMP/dir.npy"
n=0
for f in "$BAD"/npy/*.npy "$E2E_TMP/nan_row3.npy" "$E2E_TMP/dir.npy"; do
    c=$(basename "$f" .npy)
    n=$((n + 1))
    refused "npy_inspect_$c" "$f" . "$LDE" inspect "$f"
    refused "npy_score_$c" "$f" . "$LDE" score --model "$MODEL" --features "$f" --out "$WORK/o.npy"
    # Under valgrind lde run (the same reader) only sees the two run-time cases.
    [ "${E2E_VALGRIND:-0}" = 1 ] && [ "$c" != nan_row3 ] && [ "$c" != dir ] && continue
    # shellcheck disable=SC2046
    refused "npy_run_$c" "$f" . "$LDE" run "$(run_config "{train: $f, val: $f, ood: {x: $f}}")" \
        $(run_args)
done
refused npy_dir_says_directory "$E2E_TMP/dir.npy" 'is a directory|not a regular file' \
    "$LDE" inspect "$E2E_TMP/dir.npy"
refused npy_nan_names_row_and_column "$E2E_TMP/nan_row3.npy" 'NaN at row 3, column 2' \
    "$LDE" score --model "$MODEL" --features "$E2E_TMP/nan_row3.npy"

# An existing database is left exactly as it was (no experiment, no pending runs).
"$LDE" run "$(run_config "{train: $F/train.npy, val: $F/val.npy, ood: {far: $F/far.npy}}")" \
    --db "$E2E_TMP/kept.db" --models "$E2E_TMP/models" >/dev/null 2>&1
before=$(sqlite3 "$E2E_TMP/kept.db" .dump)
refused npy_run_existing_db_unchanged "$E2E_TMP/nan_row3.npy" 'NaN at row 3, column 2' \
    "$LDE" run "$(run_config "{train: $E2E_TMP/nan_row3.npy, val: $F/val.npy, ood: {f: $F/far.npy}}")" \
    --db "$E2E_TMP/kept.db" --models "$WORK/models"
check npy_run_existing_db_same_rows test "$before" = "$(sqlite3 "$E2E_TMP/kept.db" .dump)"

# ---- Fashion-MNIST idx ---------------------------------------------------------
# Each case replaces one of the four files in a directory of links to the real ones.
fmnist_with() { # DIR WHICH FILE|--dir
    rm -rf "$1" && mkdir -p "$1"
    for x in "$FMNIST"/*; do ln -s "$x" "$1/"; done
    rm "$1/$2"
    if [ "$3" = --dir ]; then mkdir "$1/$2"; else cp "$3" "$1/$2"; fi
}
idx_case() { # NAME WHICH FILE|--dir PATTERN
    local name=$1 which=$2 src=$3 pattern=$4 dir=$E2E_TMP/fmnist
    fmnist_with "$dir" "$which" "$src"
    n=$((n + 1))
    refused "idx_datasets_$name" "$dir/$which" "$pattern" env LDE_FMNIST_DIR="$dir" "$LDE" datasets
    if [ "${E2E_VALGRIND:-0}" = 1 ] && [ "$which" != train-images-idx3-ubyte.gz ]; then return; fi
    refused "idx_features_$name" "$dir/$which" "$pattern" env LDE_FMNIST_DIR="$dir" \
        "$LDE" features --out "$WORK/features" --limit 10 --epochs 1
    # shellcheck disable=SC2046
    refused "idx_run_$name" "$dir/$which" "$pattern" env LDE_FMNIST_DIR="$dir" \
        "$LDE" run "$(run_config fashion-mnist)" $(run_args)
}
while IFS=$'\t' read -r file which pattern; do
    case "$file" in '#'* | '') continue ;; esac
    idx_case "${file%.gz}" "$which" "$BAD/idx/$file" "$pattern"
done <"$BAD/idx/expect.txt"
idx_case directory t10k-labels-idx1-ubyte.gz --dir 'not a regular file|is a directory'

# ---- model files ---------------------------------------------------------------
mkdir "$E2E_TMP/dir.flow"
while IFS=$'\t' read -r file pattern; do
    case "$file" in '#'* | '') continue ;; esac
    n=$((n + 1))
    refused "model_score_${file%.flow}" "$BAD/model/$file" "$pattern" \
        "$LDE" score --model "$BAD/model/$file" --features "$F/val.npy" --out "$WORK/o.npy"
done <"$BAD/model/expect.txt"
n=$((n + 1))
refused model_score_directory "$E2E_TMP/dir.flow" 'is a directory' \
    "$LDE" score --model "$E2E_TMP/dir.flow" --features "$F/val.npy" --out "$WORK/o.npy"

# ---- resource limits -------------------------------------------------------------
# A small file declaring 4 GB of data, read with 1 GiB of address space: refused by
# the size check (naming the shape), so nothing was allocated for the shape first
# (an attempt would fail with "out of memory" instead). The same for a model file
# declaring a 2.7e9-parameter flow. Skipped under ASan and valgrind, which need far
# more address space than the limit for themselves.
if [ "${E2E_VALGRIND:-0}" != 1 ] && [ "${E2E_SAN:-0}" != 1 ]; then
    big=$E2E_TMP/declares_4GB.npy
    dict="{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000), }"
    { printf '\x93NUMPY\x01\x00\x76\x00%-117s\n' "$dict"; head -c 16 /dev/zero; } >"$big"
    refused limit_npy_shape_checked_before_allocating "$big" \
        'truncated: shape \(1000000, 1000\) of <f4 needs 4000000000 data bytes, the file has 16' \
        bash -c 'ulimit -v 1048576 && exec "$@"' _ "$LDE" inspect "$big"
    huge=$BAD/model/huge_config_small_file.flow
    refused limit_model_sizes_checked_before_building "$huge" 'expected 2700120000 and 0' \
        bash -c 'ulimit -v 1048576 && exec "$@"' _ "$LDE" score --model "$huge" --features "$F/val.npy"
fi

[ "$n" -ge 40 ] && pass bad_input_suite_has_40_files || fail bad_input_suite_has_40_files "$n"
finish
