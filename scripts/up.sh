#!/usr/bin/env bash
# The one command to run workgate from a checkout (`npm start` calls it):
# Node >= 22.12, dependencies, PostgreSQL and Redis, build, migrations, then the gateway
# and the worker together in the foreground until Ctrl-C.
# DATABASE_URL and REDIS_URL are honoured (defaults: local PostgreSQL and Redis).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

log() { echo "[workgate] $*" >&2; }

log "checking Node.js"
# shellcheck source=scripts/ensure-node.sh
source scripts/ensure-node.sh
log "node $(node -v), npm $(npm -v)"

# node_modules/.package-lock.json is npm's record of what it installed last; a
# package-lock.json newer than it means the dependencies changed since.
if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
else
  log "dependencies are up to date"
fi

log "checking PostgreSQL and Redis"
# shellcheck source=scripts/ensure-services.sh
source scripts/ensure-services.sh

log "building (npm run build)"
npm run build --silent

log "applying migrations"
node dist/apps/cli/src/main.js migrate

log "starting the gateway and the worker (Ctrl-C stops them)"
exec node dist/apps/cli/src/main.js start
