#!/usr/bin/env bash
# `npm test`: every test layer, starting whatever it needs. On a fresh clone it
# installs the npm dependencies first (native better-sqlite3 builds against the
# local Node headers), builds once, then runs jest; integration and e2e suites
# install and start their own servers (Redis, nginx, the Mongo-wire server,
# Cassandra) through scripts/stack.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci
fi
npm run build --silent
if [ "$#" -eq 0 ]; then
  set -- --selectProjects unit integration e2e
fi
exec npx jest --maxWorkers=2 "$@"
