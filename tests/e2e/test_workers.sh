#!/usr/bin/env bash
# test_workers.sh — many lde run processes on one database (issue 20): two
# terminals started together compute every point once and print two clean
# summaries; the results equal a single worker's bit for bit; --only repeated;
# lde status names the holder of a running point; a worker that stops answering
# (SIGSTOP) past the grace is taken over, and when it wakes it drops the point;
# --jobs 2 beside a plain worker.
source "$(dirname "$0")/lib.sh"
cd "$E2E_TMP" || exit 1
export OMP_NUM_THREADS=1

# grid EPOCHS — six seeds of a small Glow on the fixture features.
grid() { fixture_grid "c$1.yaml" c "[0, 1, 2, 3, 4, 5]" glow "$1"; }
grid 4
grid 30
# One evaluation at the start and one at the end: the worker stopped below is
# almost always training, not inside a transaction.
sed 's/eval_every: 0.5/eval_every: 30/' c30.yaml >slow.yaml

"$LDE" run c4.yaml --db one.db --models m1 >/dev/null 2>&1
numbers one.db >one.txt

# Two terminals at once.
"$LDE" run c4.yaml --db two.db --models m2 >out_a.txt 2>err_a.txt &
a=$!
"$LDE" run c4.yaml --db two.db --models m2 >out_b.txt 2>err_b.txt &
b=$!
wait $a
rc_a=$?
wait $b
rc_b=$?
check two_workers_exit_0 test "$rc_a$rc_b" = 00
# (the phase lines of loading end in a rate: "reading training features: ... 69 MB/s")
check two_workers_no_errors test -z "$(grep -hEv -e '^run [0-9]+/[0-9]+ ' -e '^c: ' \
    -e '^waiting for ' -e ' MB/s$' err_a.txt err_b.txt)"
done_a=$(sed -n 's/^c: \([0-9]*\) done.*/\1/p' err_a.txt)
done_b=$(sed -n 's/^c: \([0-9]*\) done.*/\1/p' err_b.txt)
check two_workers_six_runs_between_them test "$((done_a + done_b))" -eq 6
check two_workers_each_point_once \
    test "$(q two.db "SELECT count(*) FROM runs WHERE status='done' AND attempts=1")" -eq 6
check two_workers_both_tables_whole test "$(grep -c ' done ' out_a.txt)$(grep -c ' done ' out_b.txt)" = 66
numbers two.db >two.txt
check two_workers_same_numbers_as_one cmp -s one.txt two.txt

# --only, repeated: every run whose id starts with any of them.
ids=($("$LDE" plan c4.yaml 2>/dev/null | awk '$2 == "new" {print $1}'))
"$LDE" run c4.yaml --db only.db --models mo --only "${ids[1]:0:6}" --only "${ids[4]:0:6}" \
    >/dev/null 2>err_only.txt
check only_repeated_runs_both test "$(q only.db "SELECT count(*) FROM runs WHERE status='done'")" -eq 2
check only_repeated_runs_those test "$(q only.db "SELECT group_concat(substr(id,1,6)) FROM
    (SELECT id FROM runs WHERE status='done' ORDER BY id)")" = \
    "$(printf '%s\n' "${ids[1]:0:6}" "${ids[4]:0:6}" | sort | paste -sd,)"
expect_exit only_unknown_prefix_named 2 "no run id starts with 'zzzz'" \
    "$LDE" run c4.yaml --db only.db --models mo --only "${ids[0]:0:6}" --only zzzz

# The heartbeat and grace: options, or the environment; the grace must be longer.
expect_exit grace_env_checked 2 "LDE_GRACE_S=abc: expected a number of seconds above 0" \
    env LDE_GRACE_S=abc "$LDE" run c4.yaml --db x.db --models mx
expect_exit heartbeat_env_read 2 "--grace 60 must be longer than --heartbeat 100" \
    env LDE_HEARTBEAT_S=100 "$LDE" run c4.yaml --db x.db --models mx
expect_exit grace_longer_than_heartbeat 2 "--grace 1 must be longer than --heartbeat 2" \
    "$LDE" run c4.yaml --db x.db --models mx --heartbeat 2 --grace 1
expect_exit status_grace_checked 2 "--grace 0: expected a number of seconds above 0" \
    "$LDE" status --db one.db --grace 0
check bad_timings_write_nothing test ! -e x.db

# Under `make valgrind` (E2E_VALGRIND=1) the holder, SIGSTOP and takeover part is
# skipped: it waits on timings (heartbeats, a grace of 1 s) that valgrind stretches.
if [ "${E2E_VALGRIND:-0}" != 1 ]; then
# lde status while a worker computes: the holder, its pid, the heartbeat's age.
"$LDE" run slow.yaml --db st.db --models ms --heartbeat 0.3 --grace 5 >/dev/null 2>err_a.txt &
w=$!
held=""
for _ in $(seq 100); do
    held=$("$LDE" status --db st.db 2>/dev/null | grep "held by") && break
    sleep 0.1
done
check status_names_holder grep -Eq "held by $(hostname) pid $w, heartbeat [0-9]+ s ago" <<<"$held"
# SIGSTOP: no heartbeat; past the grace another worker takes the point over. A
# worker frozen inside a write transaction would block every other (SQLite's
# lock; busy_timeout): stop it again until it holds no lock. Up to about 50 s of
# tries: writing an evaluation's per-sample scores holds the lock for seconds on a
# busy machine, and 20 tries (5 s) missed it there.
for _ in $(seq 200); do
    kill -STOP $w
    sqlite3 -cmd ".timeout 200" st.db "BEGIN IMMEDIATE; ROLLBACK" 2>/dev/null && break
    kill -CONT $w
    sleep 0.05
done
sleep 1.5
check status_marks_stale_claim grep -Eq "running \(stale\)" <<<"$("$LDE" status --db st.db --grace 1)"
"$LDE" run slow.yaml --db st.db --models ms --heartbeat 0.3 --grace 1 >/dev/null 2>err_b.txt
rc_b=$?
kill -CONT $w
wait $w
rc_a=$?
check takeover_both_exit_0 test "$rc_a$rc_b" = 00
check takeover_says_whom grep -q "taking it over from $(hostname) pid $w" err_b.txt
check takeover_loser_drops_it grep -q "another worker took it over" err_a.txt
check takeover_all_done test "$(q st.db "SELECT count(*) FROM runs WHERE status='done'")" -eq 6
check takeover_integrity_ok test "$(q st.db "PRAGMA integrity_check")" = ok
"$LDE" run slow.yaml --db st1.db --models ms1 >/dev/null 2>&1
numbers st.db >st.txt
numbers st1.db >st1.txt
check takeover_same_numbers_as_one cmp -s st.txt st1.txt
fi

# --jobs 2 in one worker beside a plain one.
"$LDE" run c4.yaml --db jobs.db --models mj --jobs 2 >/dev/null 2>err_a.txt &
a=$!
"$LDE" run c4.yaml --db jobs.db --models mj >/dev/null 2>err_b.txt
rc_b=$?
wait $a
rc_a=$?
check jobs_beside_worker_exit_0 test "$rc_a$rc_b" = 00
check jobs_beside_worker_once \
    test "$(q jobs.db "SELECT count(*) FROM runs WHERE status='done' AND attempts=1")" -eq 6
numbers jobs.db >jobs.txt
check jobs_beside_worker_same_numbers cmp -s one.txt jobs.txt
finish
