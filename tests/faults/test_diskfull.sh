#!/usr/bin/env bash
# test_diskfull.sh — a full disk under lde run (issue 20). The results folder (the
# database and the models) sits on a small real file system: a tmpfs filled with
# a ballast file up to ROOM bytes free when root can mount one, and otherwise (or
# with FAULTS_RLIMIT=1) a file size limit (ulimit -f, RLIMIT_FSIZE). The run in
# progress stops with exit 1 and one line naming the database and "no space";
# the database is consistent (integrity_check ok, the runs done before intact,
# the interrupted one not done); after the ballast goes (or without the limit)
# lde run finishes the grid with the numbers of a run that never lacked room.
source "$(dirname "$0")/../e2e/lib.sh"
cd "$E2E_TMP" || exit 1
export OMP_NUM_THREADS=1
fixture_grid d.yaml d "[0, 1, 2, 3, 4, 5]" glow 8
"$LDE" run d.yaml --db ref/d.db --models ref/m >/dev/null 2>&1
numbers ref/d.db >ref.txt
points=$(q ref/d.db "SELECT count(*) / 6 FROM evals") # evals rows of one run

# full_disk MODE — one round in MODE (tmpfs or rlimit).
full_disk() {
    local mode=$1 dir=$1 rc
    mkdir -p "$dir"
    if [ "$mode" = tmpfs ]; then
        mount -t tmpfs -o size=16m tmpfs "$dir" || return 1
        # Room for about three runs' rows in the WAL, not six.
        dd if=/dev/zero of="$dir/ballast" bs=1k count=$((16 * 1024 - ${ROOM_KB:-700})) status=none
        "$LDE" run d.yaml --db "$dir/r/d.db" --models "$dir/r/m" >/dev/null 2>err_$mode.txt
        rc=$?
    else
        (
            ulimit -f "${ROOM_KB:-700}"
            "$LDE" run d.yaml --db "$dir/r/d.db" --models "$dir/r/m" >/dev/null 2>err_$mode.txt
        )
        rc=$?
    fi
    check "${mode}_full_exits_1" test "$rc" -eq 1
    check "${mode}_full_one_line" test "$(grep -c 'no space' err_$mode.txt)" -eq 1
    check "${mode}_full_names_database" \
        grep -Eq "^lde run: $dir/r/d.db: no space left on the device" <(tail -1 err_$mode.txt)
    check "${mode}_full_integrity_ok" test "$(q "$dir/r/d.db" "PRAGMA integrity_check")" = ok
    local done_before
    done_before=$(q "$dir/r/d.db" "SELECT count(*) FROM runs WHERE status='done'")
    check "${mode}_full_earlier_runs_done" test "$done_before" -ge 1
    check "${mode}_full_earlier_runs_whole" test "$(q "$dir/r/d.db" "SELECT count(*) FROM evals
        WHERE run_id IN (SELECT id FROM runs WHERE status='done')")" -eq $((done_before * points))
    check "${mode}_full_interrupted_not_done" test "$(q "$dir/r/d.db" "SELECT count(*) FROM runs
        WHERE status IN ('running', 'pending')")" -eq $((6 - done_before))
    rm -f "$dir/ballast"
    "$LDE" run d.yaml --db "$dir/r/d.db" --models "$dir/r/m" >/dev/null 2>err2_$mode.txt
    check "${mode}_after_freeing_exits_0" test $? -eq 0
    check "${mode}_after_freeing_all_done" \
        test "$(q "$dir/r/d.db" "SELECT count(*) FROM runs WHERE status='done'")" -eq 6
    numbers "$dir/r/d.db" >"$mode.txt"
    check "${mode}_after_freeing_same_numbers" cmp -s ref.txt "$mode.txt"
    echo "$mode: $(tail -1 err_$mode.txt)"
    [ "$mode" = tmpfs ] && umount "$dir"
    return 0
}

trap 'umount "$E2E_TMP/tmpfs" 2>/dev/null; rm -rf "$E2E_TMP"' EXIT
if [ "${FAULTS_RLIMIT:-0}" = 1 ] || [ "$(id -u)" -ne 0 ] || ! full_disk tmpfs; then
    echo "no tmpfs (not root, or FAULTS_RLIMIT=1): RLIMIT_FSIZE only"
fi
full_disk rlimit
finish
