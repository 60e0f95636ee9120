#!/usr/bin/env bash
# Stops exactly the daemons tests/cluster/slurm_up.sh started in STATE_DIR (by the pid files it
# wrote there), waiting for each to exit. Safe to run twice or after a partial start.
set -uo pipefail
dir=${1:?usage: slurm_down.sh STATE_DIR}
stop() { # pid file, name
  [ -f "$1" ] || return 0
  local pid
  pid=$(cat "$1")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "slurm_down: $2 ($pid) did not stop; killing" >&2
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -f "$1"
}
stop "$dir/slurmd.pid" slurmd
stop "$dir/slurmctld.pid" slurmctld
stop "$dir/munge/munged.pid" munged
exit 0
