#!/usr/bin/env bash
# `npm test`: every test layer, starting whatever it needs. On a fresh clone it
# installs the npm dependencies first (native better-sqlite3 builds against the
# local Node headers), builds once, then runs jest; integration and e2e suites
# install and start their own servers (Redis, nginx, the Mongo-wire server,
# Cassandra) through tools/stack.
#
# With no arguments it runs, in order:
#   0. `npm run lint` (typescript-eslint and the boundary rules of tools/eslint);
#   1. unit, integration and standalone e2e;
#   2. the split deployment's fault suite through nginx with events in MongoDB;
#   3. the same suite with events in Cassandra (STORE=cassandra).
# The split specs run one file at a time (-i): their fault timings (enqueue
# deadlines under a hung shard) are measured, and two stacks at once on two
# cores would measure the machine instead. Every part runs even if an earlier
# one failed; the exit status is non-zero if any failed. The whole run is
# bounded by TEST_BUDGET_MINUTES (below) and ends with each part's duration.
#
# With arguments, they are passed to jest as they are (e.g. `npm test -- --selectProjects unit`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci
fi
npm run build --silent

if [ "$#" -gt 0 ]; then
  exec npx jest --maxWorkers=2 "$@"
fi

# A hard time bound: every part runs under `timeout` with what is left of
# TEST_BUDGET_MINUTES (default 80, under CI's 90), so a hung spec fails the run
# loudly instead of holding it until the CI kills it; each part's duration and
# the total are printed at the end. A run over 60 minutes is flagged too.
budget_s=$(( ${TEST_BUDGET_MINUTES:-80} * 60 ))
started=$(date +%s)
status=0
timings=()

part() {
  local name="$1"
  shift
  local t0 left rc
  t0=$(date +%s)
  left=$(( budget_s - (t0 - started) ))
  if [ "$left" -le 0 ]; then
    echo "TEST TIME BUDGET EXHAUSTED: '$name' not run (TEST_BUDGET_MINUTES=${TEST_BUDGET_MINUTES:-80})" >&2
    timings+=("$name: not run (budget exhausted)")
    status=1
    return
  fi
  rc=0
  timeout --signal=TERM --kill-after=30 "$left" "$@" || rc=$?
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "TEST TIME BUDGET EXCEEDED: '$name' was stopped after $(( $(date +%s) - t0 )) s (TEST_BUDGET_MINUTES=${TEST_BUDGET_MINUTES:-80})" >&2
  fi
  [ "$rc" -eq 0 ] || status=1
  timings+=("$name: $(( $(date +%s) - t0 )) s, exit $rc")
}

part lint npm run lint --silent
part "unit, integration, e2e" npx jest --maxWorkers=2 --selectProjects unit integration e2e
# --forceExit: a spec that failed mid-stream can leave a driver socket open, which
# would keep jest waiting after the results are printed.
part "split on MongoDB" env STORE=mongo npx jest -i --forceExit --selectProjects e2e-split
part "split on Cassandra" env STORE=cassandra npx jest -i --forceExit --selectProjects e2e-split

total=$(( $(date +%s) - started ))
echo
echo "Test run durations:"
for line in "${timings[@]}"; do echo "  $line"; done
echo "  total: $(( total / 60 )) min $(( total % 60 )) s (budget ${TEST_BUDGET_MINUTES:-80} min)"
if [ "$total" -gt 3600 ]; then
  echo "WARNING: the test run took over 60 minutes" >&2
fi
exit "$status"
