#!/usr/bin/env bash
# test_faults.sh — faults of files and places (issue 20), each found before any
# training with one line and exit 2, the file left byte for byte as it was: a
# read-only database, database folder or models folder (a read-only bind mount
# when root, where permission bits do not stop writes; chmod otherwise); a
# truncated database, one with random bytes over a page, a file that is not
# SQLite named lde.db, one from a future schema version; and a truncated .flow
# model (its checksum), refused by lde score. The full disk and the SIGKILL soak
# are in tests/faults/ (make check-faults).
source "$(dirname "$0")/lib.sh"
F=$(cd "$(dirname "$0")/../fixtures/runner" && pwd)
cd "$E2E_TMP" || exit 1
export OMP_NUM_THREADS=1
fixture_grid c.yaml c "[0, 1]" realnvp 1 far
"$LDE" run c.yaml --db good/lde.db --models good/m >/dev/null 2>&1
check faults_fixture_grid_done test "$(q good/lde.db "SELECT count(*) FROM runs WHERE status='done'")" -eq 2
q good/lde.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null

# unchanged NAME FILE COPY — FILE is still byte for byte COPY.
unchanged() { check "$1" cmp -s "$2" "$3"; }

# Read-only places. As root, permission bits do not stop a write: mount read-only.
MOUNTS=()
readonly_place() { # PATH — makes the file or folder PATH read-only
    if [ "$(id -u)" -eq 0 ] && mount --bind "$1" "$1" 2>/dev/null; then
        MOUNTS+=("$1")
        mount -o remount,bind,ro "$1"
    else
        chmod a-w "$1"
    fi
}
cleanup_mounts() { for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null; done; }
trap 'cleanup_mounts; rm -rf "$E2E_TMP"' EXIT

mkdir -p rodb rodir/db romodels/m
cp good/lde.db rodb/lde.db
cp good/lde.db rodir/db/lde.db
q rodb/lde.db "DELETE FROM evals; UPDATE runs SET status = 'pending'" # work to do
q rodir/db/lde.db "DELETE FROM evals; UPDATE runs SET status = 'pending'"
cp rodb/lde.db rodb.copy
readonly_place rodb/lde.db
readonly_place rodir/db
readonly_place romodels/m
expect_exit readonly_database_exit_2 2 "rodb/lde.db: read-only \(the database\)" \
    "$LDE" run c.yaml --db rodb/lde.db --models rodb/m
unchanged readonly_database_untouched rodb/lde.db rodb.copy
check readonly_database_nothing_trained test ! -e rodb/m
expect_exit readonly_db_folder_exit_2 2 "rodir/db: read-only \(the database's folder\)" \
    "$LDE" run c.yaml --db rodir/db/lde.db --models rodir/m
cp good/lde.db romodels/lde.db
q romodels/lde.db "DELETE FROM evals; UPDATE runs SET status = 'pending'"
expect_exit readonly_models_exit_2 2 "romodels/m: read-only \(the models folder\)" \
    "$LDE" run c.yaml --db romodels/lde.db --models romodels/m
check readonly_models_nothing_trained \
    test "$(q romodels/lde.db "SELECT count(*) FROM evals")" -eq 0
cleanup_mounts
MOUNTS=()

# damaged NAME PATTERN — lde run and lde status on bad/lde.db (made by the
# caller) exit 2 with one line matching PATTERN, and leave the file as it was.
damaged() {
    cp bad/lde.db bad.copy
    expect_exit "damaged_${1}_run_exit_2" 2 "bad/lde.db: $2" \
        "$LDE" run c.yaml --db bad/lde.db --models bad/m
    expect_exit "damaged_${1}_status_exit_2" 2 "bad/lde.db: $2" "$LDE" status --db bad/lde.db
    unchanged "damaged_${1}_file_untouched" bad/lde.db bad.copy
    check "damaged_${1}_nothing_trained" test ! -e bad/m
    rm -rf bad bad.copy
}
size=$(stat -c %s good/lde.db)

mkdir bad && head -c $((size / 2)) good/lde.db >bad/lde.db
damaged truncated "damaged|not an SQLite database"

# Random bytes (a fixed sequence) over the second page: a b-tree page of the schema.
mkdir bad && cp good/lde.db bad/lde.db
LC_ALL=C awk 'BEGIN { x = 12345; for (i = 0; i < 4096; i++) { x = (x * 1103515245 + 12345) % 2147483648;
    printf "%c", int(x / 65536) % 256 } }' >noise.bin
dd if=noise.bin of=bad/lde.db bs=4096 seek=1 conv=notrunc status=none
damaged random_page "damaged|not an SQLite database"

# A file that is not SQLite under the default name.
mkdir -p bad && printf 'experiment results, see the notebook\n%.0s' $(seq 200) >bad/lde.db
damaged not_sqlite "damaged or not an SQLite database \(file is not a database\)"

mkdir bad && cp good/lde.db bad/lde.db && q bad/lde.db "PRAGMA user_version = 99"
damaged future_version "database schema version 99 is newer than this lde's \(5\)"

# A truncated model file: its checksum refuses it.
model=$(ls good/m/*.flow | head -1)
head -c $(($(stat -c %s "$model") - 100)) "$model" >cut.flow
expect_exit truncated_model_refused 2 "cut.flow: (model file checksum mismatch|model file truncated)" \
    "$LDE" score --model cut.flow --features "$F/val.npy" --out o.npy
check truncated_model_no_scores test ! -e o.npy
finish
