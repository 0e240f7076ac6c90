#!/usr/bin/env bash
# test_stream.sh — training features read in place (issue 18) give the numbers lde
# gave when it copied them: the stored bpd of every split at every evaluation, on
# features shaped like the shipped configs' (tests/fixtures/stream: d = 256, 1000
# training rows, the last 104 outside a full GEMM tile), equal the digests lde
# stored before streaming (main at 33a3227), for normalized latents (quickstart's
# and normalization's preprocessing), normalization with PCA 64 (the pca config's),
# and the same from a float16 training file; at 1 and 2 threads.
# Loading prints one line per phase off a terminal; a non-finite value in a float16
# training file and a declared shape beyond the file are still refused (exit 2).
source "$(dirname "$0")/lib.sh"
S=$(cd "$(dirname "$0")/../fixtures/stream" && pwd)
cd "$E2E_TMP" || exit 1

# stream_config NAME TRAIN PCA — glow on the fixture, an evaluation every half epoch.
stream_config() {
    cat >"$1.yaml" <<YAML
experiment: $1
seed: 3
data:
  features: {train: $2, val: $S/val.npy, ood: {far: $S/far.npy, near: $S/near.npy}}
preprocess:
  normalize: true
  pca: $3
flow:
  arch: glow
  blocks: 2
  hidden: 64
train:
  epochs: 1
  batch_size: 64
  eval_every: 0.5
  eval_train_samples: 300
YAML
}

# Digests of `SELECT hex(bpd) FROM scores ORDER BY step, split` from lde at 33a3227
# (main before streaming; at f017328, before Glow's rotation start, they agreed too).
declare -A WANT=(
    [norm]=c446dc29fdb563c184bcb5d5c9e33169e7636ef93bb06611539df173982adcc2
    [pca]=dc8be02deb2e6c17aff5baa7853f018c283f808d986fe7721b1f6cc270f3e462
    [half]=a3ec6bc7d1d713c4b9fd07a8359666047808e3db06a0270927163172b345f61e
)
stream_config norm "$S/train.npy" 0
stream_config pca "$S/train.npy" 64
stream_config half "$S/train16.npy" 64
# The digests are those of OpenBLAS's SkylakeX kernels (the machine they were taken
# on); another kernel family (another CPU, or valgrind's emulated one) gives other
# last bits, so there only the 1- and 2-thread results are compared.
kernel=$("$LDE" --version | grep -o '[A-Za-z0-9]* MAX_THREADS' | cut -d' ' -f1)
# Under make valgrind (E2E_VALGRIND=1) the float16 setting with PCA only (the
# others take the same paths), at 1 and 2 threads: runs are slow there.
declare -A GOT=()
configs="norm pca half"
[ "${E2E_VALGRIND:-0}" = 1 ] && configs="half"
for t in 1 2; do
    for c in $configs; do
        OMP_NUM_THREADS=$t "$LDE" run $c.yaml --db $c$t.db --models m >/dev/null 2>$c$t.err
        got=$(q $c$t.db "SELECT hex(bpd) FROM scores ORDER BY step, split" | sha256sum | cut -c1-64)
        if [ "$kernel" = SkylakeX ]; then
            check "stream_${c}_same_bits_as_before_streaming_threads_$t" test "$got" = "${WANT[$c]}"
        elif [ "$t" = 1 ]; then
            GOT[$c]=$got
        else
            echo "  ($kernel kernels: the SkylakeX digests do not apply; 1 against 2 threads)"
            check "stream_${c}_same_bits_1_and_2_threads" test "$got" = "${GOT[$c]}"
        fi
    done
done
check stream_one_line_per_phase_reading \
    grep -Eq '^reading training features: 1000 rows × 256 \(float16\), 1 pass, .* MB/s$' half2.err
if [ "${E2E_VALGRIND:-0}" != 1 ]; then
    check stream_one_line_per_phase_pca \
        grep -Eq '^fitting PCA: 1000 rows × 256 \(float32\), 2 passes, .* MB/s$' pca2.err
    check stream_no_pca_line_without_pca bash -c '! grep -q "fitting" norm2.err'
fi

# A NaN at row 700, column 5 of a float16 training file (bytes of half NaN 0x7e00),
# and a header declaring more rows than the file holds: exit 2, one line, naming them.
cp "$S/train16.npy" nan16.npy && chmod u+w nan16.npy
printf '\x00\x7e' | dd of=nan16.npy bs=1 seek=$((128 + (700 * 256 + 5) * 2)) conv=notrunc 2>/dev/null
stream_config nan "$E2E_TMP/nan16.npy" 64
expect_nan() {
    "$LDE" run nan.yaml --db nan.db --models m >/dev/null 2>nan.err
    [ $? -eq 2 ] && [ "$(wc -l <nan.err)" -eq 1 ] &&
        grep -q "nan16.npy: NaN at row 700, column 5 (0-based)" nan.err
}
check stream_float16_nan_refused_naming_row_and_column expect_nan
head -c 100000 "$S/train.npy" >short.npy
stream_config short "$E2E_TMP/short.npy" 0
expect_short() {
    "$LDE" run short.yaml --db short.db --models m >/dev/null 2>short.err
    [ $? -eq 2 ] && grep -q "short.npy: truncated: shape (1000, 256) of <f4 needs" short.err
}
check stream_declared_shape_beyond_file_refused expect_short
finish
