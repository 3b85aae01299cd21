#!/usr/bin/env bash
# Brings up / tears down a real one-node Slurm cluster on this machine (Debian 12, root, no
# systemd), for checking mixbench's Slurm support against real sbatch/squeue/scontrol.
# usage: ci/slurm-cluster.sh start|stop|status
#   start   installs slurm-wlm + munge with apt-get when missing, writes the config, starts
#           munged, slurmctld and slurmd as plain daemons and waits (<= 60 s) for the node to
#           be idle. Idempotent: when the cluster is already up it says so and exits 0.
#   stop    cancels the cluster's jobs, then stops only the daemons that `start` started
#           (pids recorded in the state dir); a munged that was already running is left alone.
#   status  prints whether the cluster is up (exit 0) or not (exit 3).
# env: SLURM_CHECK_DIR          state dir (config copy, spool, logs, pids); default /tmp/mixbench-slurm
#      SLURM_CHECK_CRED_EXPIRE  AuthInfo cred_expire in seconds (default 120, Slurm's default);
#                               it is also how long a requeued job is held (BeginTime) before
#                               it may run again, so lower it to make requeue checks quicker
#
# Choices (observed with Debian 12's slurm-wlm 22.05.8 in a container without systemd):
# - The client commands (sbatch, squeue, scontrol, sinfo) read /etc/slurm/slurm.conf unless
#   SLURM_CONF is set, and mixbench calls them without it, so the config is written to the
#   state dir AND installed as /etc/slurm/slurm.conf (marked with a header line; an existing
#   file without that marker is never overwritten). `stop` removes it again.
# - ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, no accounting and no job
#   accounting gather: none of them needs cgroups or systemd, so no cgroup.conf is written.
# - SelectType=select/cons_tres + CR_CPU: several 1-CPU tasks run at once on the one node.
# - JobRequeue=1 makes batch jobs requeueable without `sbatch --requeue`; KillWait=10 is the
#   gap between the SIGTERM and the SIGKILL when a job is cancelled or requeued.
# - `scontrol requeue` sends SIGCONT+SIGTERM to every process of the job (not only the batch
#   shell), SIGKILL KillWait later; the job then pends with reason BeginTime for cred_expire+1 s
#   (AuthInfo=cred_expire, default 120) and reruns by itself under the same job id with
#   SLURM_RESTART_COUNT=1 once the scheduler next looks (up to ~20 s more here).
# - SlurmUser/SlurmdUser=root keeps the state dir free of ownership fiddling; munged runs as
#   the packaged `munge` user on its default socket (/run/munge/munge.socket.2), which is
#   where Slurm's auth/munge looks.
#   It cannot write the state dir, so its log stays at /var/log/munge/munged.log.
# - apt-get runs with a /usr/sbin/policy-rc.d that forbids the packages' postinst from starting
#   services (no init system, no config yet); a temporary one is made only when none exists.
# - slurmctld's state (spool/ctld) survives stop/start, so job ids keep counting up; delete
#   the state dir for a fresh cluster.
set -euo pipefail

state=${SLURM_CHECK_DIR:-/tmp/mixbench-slurm}
etc_conf=/etc/slurm/slurm.conf
marker="# written by mixbench ci/slurm-cluster.sh (state dir: $state)"
marker_prefix="# written by mixbench ci/slurm-cluster.sh"
host=$(hostname -s)
conf="$state/slurm.conf"
pids="$state/pids"
log="$state/log"

say() { echo "slurm-cluster: $*"; }
fail() { echo "slurm-cluster: error: $*" >&2; exit 1; }

# fail_with_log MESSAGE LOGFILE...: fails, printing the tail of each existing log.
fail_with_log() {
  local msg=$1; shift
  echo "slurm-cluster: error: $msg" >&2
  local f
  for f in "$@"; do
    if [ -s "$f" ]; then
      echo "---- last 30 lines of $f ----" >&2
      tail -n 30 "$f" >&2
    fi
  done
  exit 1
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# recorded_pid NAME: the pid that `start` recorded for NAME, or nothing.
recorded_pid() {
  if [ -f "$pids" ]; then awk -v n="$1" '$1 == n { p = $2 } END { print p }' "$pids"; fi
}

# pid_is NAME PID: PID is alive and is the program NAME (guards against pid reuse).
pid_is() { alive "$2" && [ "$(cat "/proc/$2/comm" 2>/dev/null)" = "$1" ]; }

node_state() { sinfo -h -N -n "$host" -o %t 2>/dev/null | head -n 1 || true; }

ctld_answers() { timeout 5 scontrol ping 2>/dev/null | grep -q UP; }

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

is_up() {
  local d p
  for d in slurmctld slurmd; do
    p=$(recorded_pid "$d")
    pid_is "$d" "$p" || return 1
  done
  munge_works || return 1
  case "$(node_state)" in idle* | mix* | alloc* | comp*) return 0 ;; *) return 1 ;; esac
}

install_packages() {
  if command -v sbatch >/dev/null && command -v slurmctld >/dev/null \
    && command -v slurmd >/dev/null && command -v munged >/dev/null; then
    return 0
  fi
  say "installing slurm-wlm and munge with apt-get (sbatch/slurmctld/slurmd/munged missing)"
  local policy=/usr/sbin/policy-rc.d made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    made_policy=1
  fi
  local rc=0
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -q \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        slurm-wlm slurm-client munge
  } >"$state/apt.log" 2>&1 || rc=$?
  [ "$made_policy" = 1 ] && rm -f "$policy"
  [ "$rc" = 0 ] || fail_with_log "apt-get install slurm-wlm munge failed (exit $rc)" "$state/apt.log"
  for c in sbatch slurmctld slurmd munged; do
    command -v "$c" >/dev/null || fail "$c still missing after installing slurm-wlm and munge"
  done
}

start_munge() {
  if munge_works; then
    say "munged already running (not started by this script; stop will leave it alone)"
    return 0
  fi
  local key=/etc/munge/munge.key
  if [ ! -s "$key" ]; then
    say "creating munge key $key"
    mkdir -p /etc/munge
    dd if=/dev/urandom of="$key" bs=1024 count=1 status=none
  fi
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  local runas=()
  if id munge >/dev/null 2>&1; then
    chown munge:munge /etc/munge "$key" /run/munge /var/lib/munge /var/log/munge
    runas=(runuser -u munge --)
  fi
  chmod 0700 /etc/munge
  chmod 0400 "$key"
  chmod 0755 /run/munge
  rm -f /run/munge/munged.pid
  # munged runs as `munge`, which cannot write the state dir: it logs to its packaged default
  local mlog=/var/log/munge/munged.log
  "${runas[@]}" munged --log-file="$mlog" --pid-file=/run/munge/munged.pid \
    >"$log/munged.out" 2>&1 || fail_with_log "munged failed to start" "$log/munged.out" "$mlog"
  local i
  for i in $(seq 1 50); do
    munge_works && break
    sleep 0.2
  done
  munge_works || fail_with_log "munged started but \`munge -n | unmunge\` fails" "$log/munged.out" "$mlog"
  echo "munged $(cat /run/munge/munged.pid)" >>"$pids"
  say "munged up (pid $(cat /run/munge/munged.pid))"
}

write_config() {
  local cpus mem
  cpus=$(nproc)
  mem=$(free -m | awk '/^Mem:/ { print $2 }')
  mkdir -p "$state/spool/ctld" "$state/spool/d" "$state/run" "$log"
  cat >"$conf" <<EOF
$marker
ClusterName=mixbench
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=cred_expire=${SLURM_CHECK_CRED_EXPIRE:-120}
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$state/spool/ctld
SlurmdSpoolDir=$state/spool/d
SlurmctldPidFile=$state/run/slurmctld.pid
SlurmdPidFile=$state/run/slurmd.pid
SlurmctldLogFile=$log/slurmctld.log
SlurmdLogFile=$log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=300
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  if [ -e "$etc_conf" ] && ! head -n 1 "$etc_conf" | grep -qF "$marker_prefix"; then
    fail "$etc_conf exists and was not written by this script; refusing to overwrite it"
  fi
  mkdir -p /etc/slurm
  cp "$conf" "$etc_conf"
  say "wrote $conf (also installed as $etc_conf: $cpus CPUs, ${mem} MB, node $host)"
}

start_slurm_daemon() { # NAME
  local d=$1 pidf="$state/run/$1.pid"
  rm -f "$pidf"
  "$d" -f "$conf" >"$log/$d.out" 2>&1 \
    || fail_with_log "$d failed to start" "$log/$d.out" "$log/$d.log"
  local i
  for i in $(seq 1 50); do
    [ -s "$pidf" ] && pid_is "$d" "$(cat "$pidf")" && break
    sleep 0.2
  done
  pid_is "$d" "$(cat "$pidf" 2>/dev/null)" \
    || fail_with_log "$d exited right after starting" "$log/$d.out" "$log/$d.log"
  echo "$d $(cat "$pidf")" >>"$pids"
  say "$d up (pid $(cat "$pidf"))"
}

do_start() {
  mkdir -p "$state" "$log"
  if is_up; then
    say "already up (node $host: $(node_state)); nothing to do"
    exit 0
  fi
  if [ -f "$pids" ]; then
    say "cluster partly up or stale; stopping what is left first"
    do_stop
  fi
  install_packages
  mkdir -p "$state" "$log"
  : >"$pids"
  # a failed start stops whatever it had started, so no half cluster is left behind
  trap 'rc=$?; if [ "$rc" != 0 ]; then echo "slurm-cluster: stopping what this start started" >&2; do_stop >&2 || true; fi' EXIT
  start_munge
  write_config
  start_slurm_daemon slurmctld
  local i
  for i in $(seq 1 30); do
    ctld_answers && break
    pid_is slurmctld "$(recorded_pid slurmctld)" \
      || fail_with_log "slurmctld died after starting" "$log/slurmctld.log"
    sleep 1
  done
  ctld_answers || fail_with_log "slurmctld does not answer \`scontrol ping\` after 30 s" "$log/slurmctld.log"
  start_slurm_daemon slurmd
  local st=""
  for i in $(seq 1 60); do
    st=$(node_state)
    case "$st" in idle*) break ;; esac
    sleep 1
  done
  case "$st" in
    idle*) ;;
    *) fail_with_log "node $host is not idle after 60 s (sinfo state: '${st:-none}')" \
      "$log/slurmctld.log" "$log/slurmd.log" ;;
  esac
  trap - EXIT
  say "up: node $host idle, partition debug; logs in $log"
  sinfo
}

stop_pid() { # NAME PID
  local d=$1 p=$2 i
  if ! pid_is "$d" "$p"; then
    say "$d (pid $p) is not running"
    return 0
  fi
  kill -TERM "$p"
  for i in $(seq 1 100); do
    alive "$p" || break
    sleep 0.2
  done
  if alive "$p"; then
    say "$d (pid $p) ignored SIGTERM for 20 s; sending SIGKILL"
    kill -KILL "$p" 2>/dev/null || true
  fi
  say "stopped $d (pid $p)"
}

do_stop() {
  if [ ! -f "$pids" ]; then
    say "not started by this script (no $pids); nothing to stop"
    return 0
  fi
  local ctld
  ctld=$(recorded_pid slurmctld)
  if pid_is slurmctld "$ctld" && ctld_answers; then
    local jobs
    jobs=$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
    if [ -n "${jobs// /}" ]; then
      say "cancelling jobs: $jobs"
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null || true
      local i
      for i in $(seq 1 30); do
        [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break
        sleep 1
      done
    fi
  fi
  local d
  for d in slurmd slurmctld munged; do
    local p
    p=$(recorded_pid "$d")
    [ -n "$p" ] && stop_pid "$d" "$p"
  done
  rm -f "$pids"
  if [ -f "$etc_conf" ] && head -n 1 "$etc_conf" | grep -qF "$marker_prefix"; then
    rm -f "$etc_conf"
  fi
  say "stopped"
}

do_status() {
  if is_up; then
    say "up (node $host: $(node_state); slurmctld pid $(recorded_pid slurmctld), slurmd pid $(recorded_pid slurmd))"
    exit 0
  fi
  if [ -f "$pids" ]; then
    local d p
    for d in munged slurmctld slurmd; do
      p=$(recorded_pid "$d")
      if [ -z "$p" ]; then
        say "$d: not started by this script"
      elif pid_is "$d" "$p"; then
        say "$d: running (pid $p)"
      else
        say "$d: NOT running (recorded pid $p)"
      fi
    done
    say "down or degraded (node state: '$(node_state)')"
  else
    say "down"
  fi
  exit 3
}

case "${1:-}" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
