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
# one failed; the exit status is non-zero if any failed.
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

status=0
npm run lint --silent || status=1
npx jest --maxWorkers=2 --selectProjects unit integration e2e || status=1
# --forceExit: a spec that failed mid-stream can leave a driver socket open, which
# would keep jest waiting after the results are printed.
STORE=mongo npx jest -i --forceExit --selectProjects e2e-split || status=1
STORE=cassandra npx jest -i --forceExit --selectProjects e2e-split || status=1
exit "$status"
