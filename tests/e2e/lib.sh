# tests/e2e/lib.sh — helpers for end-to-end tests of the real ./lde binary.
# A test script sources this, calls `check NAME COMMAND...` or the expect_* helpers,
# each printing "PASS NAME" or "FAIL NAME" (tests/run counts them), and ends
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

finish() { exit "$E2E_FAILED"; }
