# tests/slurm/local_slurm.sh — a real one-node Slurm for tests, sourced by
# tests/slurm/test_slurm.sh. `slurm_start DIR` installs Debian's slurm-wlm and
# munge when missing, writes a munge key and a minimal slurm.conf under DIR (one
# node: this machine as `slurmd -C` describes it), starts munged, slurmctld and
# slurmd in the foreground of background jobs, and waits until the node is idle.
# `slurm_stop` kills exactly those daemons by pid. Everything (state, spool, logs,
# sockets) lives under DIR, so the machine's own files are left alone; SLURM_CONF
# points the clients (sbatch, squeue, scancel) at the test cluster. The daemons
# talk over 127.0.0.1 (ports 16817, 16818; LDE_SLURMCTLD_PORT, LDE_SLURMD_PORT
# override them), so the host name need not resolve. Needs root (slurmd).
SLURM_PIDS=()

slurm_install() {
    local missing=""
    for p in slurm-wlm munge; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    echo "local_slurm: installing$missing"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq &&
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            $missing >/dev/null
}

slurm_start() {
    local dir=$1 host node
    if [ "$(id -u)" -ne 0 ]; then
        echo "local_slurm: slurmd must run as root (this is user $(id -un))" >&2
        return 1
    fi
    slurm_install || return 1
    # The key's directory is private; the socket's must be searchable by clients.
    mkdir -p "$dir"/{state,spool,log,munge,munge-key} && chmod 700 "$dir/munge-key"
    host=$(hostname -s)
    # The node as slurmd sees it (CPUs, sockets, cores, memory), so it is never
    # drained for claiming more than it has.
    node=$(slurmd -C | head -n 1)
    dd if=/dev/urandom of="$dir/munge-key/munge.key" bs=1024 count=1 status=none
    chmod 400 "$dir/munge-key/munge.key"
    cat >"$dir/slurm.conf" <<CONF
ClusterName=ldetest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=${LDE_SLURMCTLD_PORT:-16817}
SlurmdPort=${LDE_SLURMD_PORT:-16818}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CryptoType=crypto/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
MaxArraySize=1001
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF=$dir/slurm.conf
    munged -F --force --key-file="$dir/munge-key/munge.key" --socket="$dir/munge/munge.socket" \
        --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge-key/munge.seed" >>"$dir/log/munged.out" 2>&1 &
    SLURM_PIDS+=($!)
    local i
    for i in $(seq 50); do [ -S "$dir/munge/munge.socket" ] && break; sleep 0.1; done
    slurmctld -D -i -f "$SLURM_CONF" >>"$dir/log/slurmctld.out" 2>&1 &
    SLURM_PIDS+=($!)
    slurmd -D -f "$SLURM_CONF" >>"$dir/log/slurmd.out" 2>&1 &
    SLURM_PIDS+=($!)
    for i in $(seq 60); do
        sinfo -h -o %t 2>/dev/null | grep -Eq '^idle' && return 0
        sleep 1
    done
    echo "local_slurm: the node did not become idle; logs under $dir/log" >&2
    sinfo 2>&1 >&2
    tail -n 20 "$dir"/log/*.log >&2
    return 1
}

slurm_stop() {
    local pid
    for pid in "${SLURM_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${SLURM_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
    SLURM_PIDS=()
}
