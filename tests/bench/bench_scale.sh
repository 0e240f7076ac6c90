#!/usr/bin/env bash
# tests/bench/bench_scale.sh [ROWS] — `make bench-scale` (issue 18): lde run on
# ImageNet-size float16 features (ROWS x 2,048, default 1,281,167; a 50,000-row val
# set and two 10,000-row OOD sets, tests/bench/gen_scale.py), Glow with 10 blocks
# and hidden = d for 0.02 epoch, with normalize + PCA 512 and with PCA off (d 2,048).
# Prints per setting: peak resident memory (getrusage of the lde process, via GNU
# time), seconds to the first training step, hashing and PCA fit times, training and
# evaluation samples/s. The data lives under results/bench-scale and is removed at
# the end. Not part of CI: it needs ~6 GB of disk and minutes to an hour.
# The files were just written, so they are in the page cache; BENCH_COLD=1 drops the
# cache (as root: /proc/sys/vm/drop_caches) before each setting, so that every pass
# over the training file reads the disk, as the first run on a file saved earlier does.
set -eu
cd "$(dirname "$0")/../.."
ROWS=${1:-1281167}
VAL=${BENCH_VAL:-50000}
OOD=${BENCH_OOD:-10000}
DIR=$PWD/results/bench-scale
LDE=${LDE:-./lde}
mkdir -p "$DIR"
trap 'rm -rf "$DIR"' EXIT
df -h "$DIR" | tail -1 | awk '{print "disk: " $4 " free on " $6}'
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(awk '/MemTotal/ {printf "%.1f GB", $2/1e6}' /proc/meminfo)"
t0=$(date +%s.%N)
/usr/bin/python3 tests/bench/gen_scale.py "$DIR" "$ROWS" 2048 "$VAL" "$OOD"
printf 'generated %s x 2048 float16 (%s MB) in %.0f s\n' "$ROWS" \
    "$(($(stat -c %s "$DIR/train.npy") / 1000000))" "$(echo "$(date +%s.%N) - $t0" | bc)"

# setting NAME PCA HIDDEN
setting() {
    cat >"$DIR/$1.yaml" <<YAML
experiment: scale-$1
seed: 0
data:
  features: {train: $DIR/train.npy, val: $DIR/val.npy, ood: {near: $DIR/near.npy, far: $DIR/far.npy}}
preprocess:
  normalize: true
  pca: $2
flow:
  arch: glow
  blocks: 10
  hidden: $3
train:
  epochs: 0.02
  batch_size: 64
  lr: 1.0e-5
  eval_every: 1
YAML
    echo "== $1: normalize, pca $2, glow 10 blocks hidden $3, 0.02 epoch"
    if [ "${BENCH_COLD:-0}" = 1 ]; then
        sync
        if ! echo 3 2>/dev/null >/proc/sys/vm/drop_caches; then
            echo "BENCH_COLD=1: cannot drop the page cache (needs root); this setting runs warm" >&2
        else
            echo "page cache dropped: the training file is read from the disk"
        fi
    fi
    rm -f "$DIR/$1.db"
    /usr/bin/time -f '%M %e' -o "$DIR/$1.time" \
        "$LDE" run "$DIR/$1.yaml" --db "$DIR/$1.db" --models "$DIR/models" >/dev/null \
        2> >(tee "$DIR/$1.err" >&2)
    wait
    read -r rss wall <"$DIR/$1.time"
    printf '%s: peak resident %.2f GB, wall %.0f s\n' "$1" "$(echo "$rss / 1000000" | bc -l)" "$wall"
    grep -E '^hashing train.npy' "$DIR/$1.err" | sed "s/^/$1: /" || true
    grep -E '^(reading training features|fitting PCA):' "$DIR/$1.err" | sed "s/^/$1: /" || true
    grep -E 'first training step' "$DIR/$1.err" | sed "s/^/$1: /" || true
}
setting pca 512 512
setting nopca 0 2048
