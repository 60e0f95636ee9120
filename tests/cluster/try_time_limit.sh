#!/usr/bin/env bash
# By hand (not in CI: Slurm sends the time-limit signal at its own granularity, up to a minute
# early, so the timing cannot be pinned): one smoke job under `--time 1 --signal-seconds 58` on a
# single-node cluster. Slurm warns the task with USR1 before its limit; the array script stops the
# job (checkpoint, "interrupted") and requeues its own task, which continues from the checkpoint.
# Expect in the printed task log: "time limit near", "interrupted ... checkpoint ...",
# "continuing at epoch N/3", "completed". Needs root, slurm-wlm and munge. Run from the checkout:
#   sudo tests/cluster/try_time_limit.sh [STATE_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-$(mktemp -d /tmp/dfkd-time-limit.XXXXXX)}
trap 'tests/cluster/slurm_down.sh "$dir/slurm"' EXIT
eval "$(tests/cluster/slurm_up.sh "$dir/slurm")"
dfkd() { npx -y deno@2.9.6 run -A src/cli/main.ts "$@"; }
run=$(dfkd plan benchmarks/smoke.json --methods pre-dfkd --out "$dir/out" | sed -n 's/^Planned run .* in //p')
dfkd slurm "$run" --time 1 --signal-seconds 58 --submit
log=$(ls -d "$run"/slurm/logs)
for _ in $(seq 1 150); do
  [ -z "$(squeue -h)" ] && break
  # A requeued task waits about two minutes before it may start again; not here.
  for id in $(squeue -h -t PD -r -o '%i %r' | awk '$2 == "BeginTime" { print $1 }'); do
    scontrol update "jobid=$id" StartTime=now
  done
  sleep 2
done
cat "$log"/*_0.out
dfkd status "$run"
