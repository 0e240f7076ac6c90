# tests/e2e/lib.sh — helpers for end-to-end tests of the real ./lde binary.
# A test script sources this, calls `check NAME COMMAND...` or the expect_* helpers,
# each printing "PASS NAME" or "FAIL NAME" (tests/run-tests counts them), and ends
# with `finish`, whose exit status says whether anything failed.
set -u
LDE=${LDE:-$(cd "$(dirname "$0")/../.." && pwd)/lde}
E2E_FAILED=0
E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/lde-e2e-XXXXXX")
trap 'rm -rf "$E2E_TMP"' EXIT

pass() { echo "PASS $1"; }
fail() {
    echo "FAIL $1${2:+: $2}"
    E2E_FAILED=1
}

# check NAME CMD... — passes when CMD exits 0.
check() {
    local name=$1
    shift
    if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi
}

# expect_exit NAME CODE PATTERN CMD... — passes when CMD exits with CODE and its
# stderr is one line matching the extended regex PATTERN.
expect_exit() {
    local name=$1 code=$2 pattern=$3
    shift 3
    local err rc
    err=$("$@" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -ne "$code" ]; then
        fail "$name" "exit $rc, expected $code; stderr: $err"
    elif ! grep -Eq -- "$pattern" <<<"$err"; then
        fail "$name" "stderr '$err' does not match /$pattern/"
    elif [ "$code" -ne 0 ] && [ "$(printf '%s\n' "$err" | grep -cv '^warning:')" -ne 1 ]; then
        fail "$name" "expected a one-line error, got: $err"
    else
        pass "$name"
    fi
}

# refused NAME FILE PATTERN CMD... — CMD, run in the caller's empty directory $WORK,
# exits 2 with one line on stderr that names FILE and matches PATTERN, and leaves
# $WORK empty ($WORK is emptied again afterwards, so one failure does not cascade).
refused() {
    local name=$1 file=$2 pattern=$3
    shift 3
    local err rc
    err=$(cd "$WORK" && "$@" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -ne 2 ]; then
        fail "$name" "exit $rc, expected 2: $err"
    elif [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then
        fail "$name" "expected a one-line error, got: $err"
    elif ! grep -qF -- "$file" <<<"$err"; then
        fail "$name" "message does not name $file: $err"
    elif ! grep -Eq -- "$pattern" <<<"$err"; then
        fail "$name" "'$err' does not match /$pattern/"
    elif [ -n "$(ls -A "$WORK")" ]; then
        fail "$name" "wrote $(ls -A "$WORK")"
    else
        pass "$name"
    fi
    rm -rf "$WORK" && mkdir "$WORK"
}

# fixture_grid FILE EXPERIMENT SEEDS ARCH EPOCHS [OOD] — a grid of small flows
# (2 blocks, 32 hidden) on the runner fixture features (tests/fixtures/runner),
# an evaluation every half epoch; OOD: the far and near sets (default) or "far".
E2E_RUNNER_FIXTURES=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures/runner" && pwd)
fixture_grid() {
    local f=$E2E_RUNNER_FIXTURES
    local ood="{far: $f/far.npy, near: $f/near.npy}"
    [ "${6:-}" = far ] && ood="{far: $f/far.npy}"
    cat >"$1" <<YAML
experiment: $2
seed: $3
data:
  features: {train: $f/train.npy, val: $f/val.npy, ood: $ood}
preprocess:
  normalize: false
flow:
  arch: $4
  blocks: 2
  hidden: 32
train:
  epochs: $5
  batch_size: 64
  eval_every: 0.5
YAML
}

# q DB SQL; numbers DB; done_ids DB — the store, read with sqlite3.
q() { sqlite3 "$1" "$2"; }
# Every number the store holds for a database, in a fixed order: the evals rows
# and the per-sample bpd blobs (hex), for bit-for-bit comparisons.
numbers() {
    q "$1" "SELECT run_id, step, split, mean_bpd, median_bpd, auroc, fpr95, aupr_in, aupr_out,
                   train_loss FROM evals ORDER BY run_id, step, split;
            SELECT run_id, step, split, hex(bpd) FROM scores ORDER BY run_id, step, split;"
}
done_ids() { q "$1" "SELECT id FROM runs WHERE status='done' ORDER BY id"; }

finish() { exit "$E2E_FAILED"; }
