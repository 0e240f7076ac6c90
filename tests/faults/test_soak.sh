#!/usr/bin/env bash
# test_soak.sh — the SIGKILL soak of issue 20: WORKERS (4) lde run processes on
# one database and a 24-point grid of small flows; a driver SIGKILLs a random
# worker at a random moment (every 0.05 to 0.5 s, a fixed random sequence) and
# starts a new one in its place, KILLS (24) times, then lets the workers finish.
# At the end every point is done exactly once (lost = 0; duplicates = 0: no run
# with two done attempts' rows, every evaluation point once), PRAGMA
# integrity_check is ok, every worker not killed exited 0, and every number
# equals a single worker's run of the grid. Prints the figures in one line.
source "$(dirname "$0")/../e2e/lib.sh"
cd "$E2E_TMP" || exit 1
export OMP_NUM_THREADS=1
WORKERS=${WORKERS:-4}
KILLS=${KILLS:-24}
RANDOM=20
fixture_grid soak.yaml soak "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]" "[realnvp, glow]" 120
sed -i 's/eval_every: 0.5/eval_every: 1/' soak.yaml

t0=$SECONDS
"$LDE" run soak.yaml --db ref.db --models mref >/dev/null 2>&1
check soak_reference_done test "$(q ref.db "SELECT count(*) FROM runs WHERE status='done'")" -eq 24
t_ref=$((SECONDS - t0))

start() { # SLOT — a new worker in slot SLOT
    "$LDE" run soak.yaml --db soak.db --models msoak --heartbeat 0.5 --grace 20 \
        >"out_$1_$RANDOM.txt" 2>>"err_$1.txt" &
    pid[$1]=$!
}
t0=$SECONDS
for s in $(seq 0 $((WORKERS - 1))); do start "$s"; done
kills=0
bad_exits=0
while [ "$kills" -lt "$KILLS" ]; do
    sleep "0.$(printf '%02d' $((5 + RANDOM % 45)))"
    s=$((RANDOM % WORKERS))
    if kill -0 "${pid[$s]}" 2>/dev/null; then
        kill -KILL "${pid[$s]}"
        wait "${pid[$s]}" 2>/dev/null
        kills=$((kills + 1))
    else
        wait "${pid[$s]}" || bad_exits=$((bad_exits + 1)) # it finished by itself
    fi
    pid[$s]=""
    # Stop killing once the grid is done: the kills would hit nothing.
    [ "$(q soak.db "SELECT count(*) FROM runs WHERE status='done'" 2>/dev/null)" = 24 ] && break
    start "$s"
done
for s in $(seq 0 $((WORKERS - 1))); do
    [ -z "${pid[$s]}" ] || wait "${pid[$s]}" || bad_exits=$((bad_exits + 1))
done
t_soak=$((SECONDS - t0))

done_n=$(q soak.db "SELECT count(*) FROM runs WHERE status='done'")
lost=$((24 - done_n))
# A duplicate: an evaluation point twice, or a run whose rows mix two attempts
# (more points than a single worker's run has).
dup=$(q soak.db "SELECT count(*) FROM (SELECT run_id, step, split FROM evals
                 GROUP BY run_id, step, split HAVING count(*) > 1)")
mixed=$(sqlite3 -cmd "ATTACH 'ref.db' AS r" soak.db "SELECT count(*) FROM
    (SELECT run_id, count(*) n FROM evals GROUP BY run_id) s JOIN
    (SELECT run_id, count(*) n FROM r.evals GROUP BY run_id) t USING (run_id) WHERE s.n <> t.n")
reruns=$(q soak.db "SELECT sum(attempts) - count(*) FROM runs")
integrity=$(q soak.db "PRAGMA integrity_check")
check soak_enough_kills test "$kills" -ge 20
check soak_every_point_done test "$lost" -eq 0
check soak_no_duplicates test "$((dup + mixed))" -eq 0
check soak_nothing_running test "$(q soak.db "SELECT count(*) FROM runs WHERE status<>'done'")" -eq 0
check soak_integrity_ok test "$integrity" = ok
check soak_workers_exit_0 test "$bad_exits" -eq 0
[ "$bad_exits" -eq 0 ] || grep -hEv '^(run [0-9]|soak: |waiting for )' err_*.txt
numbers ref.db >ref.txt
numbers soak.db >soak.txt
check soak_same_numbers_as_one_worker cmp -s ref.txt soak.txt
echo "soak: $WORKERS workers, $kills SIGKILLs, 24 points, done $done_n, duplicates $((dup + mixed)),"\
     "lost $lost, re-run after a kill $reruns, integrity $integrity, ${t_soak} s" \
     "(one worker: ${t_ref} s)"
finish
