#!/usr/bin/env bash
# test_cli.sh — the real ./lde: help, version, unknown commands, `lde datasets` on the
# installed data, `lde inspect` on good and on every broken .npy fixture.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.." || exit 1

help=$("$LDE" --help)
check help_lists_datasets_and_inspect grep -Eq '^  datasets .*' <<<"$help"
check help_lists_inspect grep -Eq '^  inspect .*' <<<"$help"
check version_prints_version_and_git_rev \
    grep -Eq '^lde [0-9]+\.[0-9]+\.[0-9]+ \(git [^)]+\)$' <<<"$("$LDE" --version)"
# Unless the user chose, lde spins briefly on an idle machine and waits passively on
# a busy one (util/waitpolicy.h); either way --version says which.
check version_wait_policy_is_chosen \
    grep -Eq "waiting: (OMP_WAIT_POLICY=passive|spin [0-9]+ then sleep)" \
    <<<"$(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$LDE" --version)"
check version_wait_policy_keeps_users_choice \
    grep -q "waiting: OMP_WAIT_POLICY=active" <<<"$(OMP_WAIT_POLICY=active "$LDE" --version)"
check version_wait_policy_keeps_users_spincount \
    grep -q "waiting: spin 500 then sleep" \
    <<<"$(env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=500 "$LDE" --version)"
# The BLAS line names OpenBLAS's kernel family, which follows OPENBLAS_CORETYPE.
check version_names_blas_kernels \
    grep -q "^BLAS: OpenBLAS .*Haswell" <<<"$(OPENBLAS_CORETYPE=Haswell "$LDE" --version)"
check command_help_prints_usage grep -q '^usage: lde inspect FILE.npy' <<<"$("$LDE" inspect --help)"
expect_exit unknown_command_exits_2 2 "unknown command 'frobnicate'" "$LDE" frobnicate
"$LDE" >/dev/null 2>&1
check no_command_prints_help_and_exits_2 test $? -eq 2

# datasets: every set with its count and a 16-hex checksum, the same bits at 1 and 2
# threads.
out1=$(OMP_NUM_THREADS=1 "$LDE" datasets)
out2=$(OMP_NUM_THREADS=2 "$LDE" datasets)
for want in "fmnist-train 60000" "fmnist-test 10000" "digits 1797" "gaussian 2000" \
    "uniform 2000" "vflip 10000"; do
    set -- $want
    check "datasets_lists_$1_with_$2_images" \
        grep -Eq "^$1 +$2  28x28  [0-9a-f]{16}  " <<<"$out1"
done
check datasets_same_output_at_1_and_2_threads test "$out1" = "$out2"
held=$("$LDE" datasets --id-classes 0,2,4)
check datasets_id_classes_adds_heldout grep -Eq '^heldout +7000  28x28 ' <<<"$held"
check datasets_id_classes_keeps_train grep -Eq '^fmnist-train +18000 ' <<<"$held"
expect_exit datasets_bad_id_classes_exits_2 2 "id_classes '0,11'" "$LDE" datasets --id-classes 0,11
expect_exit datasets_missing_fmnist_names_file 2 \
    '/nonexistent-fmnist/train-images-idx3-ubyte.gz: cannot open' \
    env LDE_FMNIST_DIR=/nonexistent-fmnist "$LDE" datasets
expect_exit datasets_missing_digits_names_file 2 '/nonexistent/digits.csv.gz: cannot open' \
    env LDE_DIGITS=/nonexistent/digits.csv.gz "$LDE" datasets

# inspect: a NumPy-written file, then every broken file exits 2 naming the file.
ins=$("$LDE" inspect tests/fixtures/npy/f4_2d.npy)
check inspect_prints_shape grep -q '^shape     (3, 4)$' <<<"$ins"
check inspect_prints_dtype grep -q '^dtype     <f4 (read as float32)$' <<<"$ins"
check inspect_prints_min_max grep -Pzq 'min       0.25\nmax       23.25\n' <<<"$ins"
check inspect_reads_labels grep -q '^max       255$' <<<"$("$LDE" inspect tests/fixtures/npy/u1_1d.npy)"
for f in tests/bad_inputs/npy/*.npy; do
    expect_exit "inspect_refuses_$(basename "$f" .npy)" 2 "^lde inspect: $f: " "$LDE" inspect "$f"
done
expect_exit inspect_nan_names_row 2 'nan_row2.npy: NaN at row 2, column 1' \
    "$LDE" inspect tests/bad_inputs/npy/nan_row2.npy
expect_exit inspect_directory_exits_2 2 'is a directory' "$LDE" inspect tests/bad_inputs/npy
expect_exit inspect_without_file_exits_2 2 'expected one FILE.npy' "$LDE" inspect
finish
