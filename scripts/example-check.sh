#!/usr/bin/env bash
# Checks examples/hello-workgate as a user would meet it: the SDK packed (`npm pack`),
# the example copied to a folder OUTSIDE the repository, its packages installed from the
# tarball and the registry (`--prefer-offline`: the npm cache serves what it has), then
# type-checked, tested (the SDK's test kit, against the real PostgreSQL and Redis), and
# its worker run against the repository's built gateway on a schema and Redis prefix of
# its own, with a work started and finished through the typed client.
# DATABASE_URL / REDIS_URL: default local ones. Exits non-zero on the first failure.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
database_url=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
redis_url=${REDIS_URL:-redis://127.0.0.1:6379}
tag=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
schema=example_$tag
prefix=example-$tag
work=$(mktemp -d "${TMPDIR:-/tmp}/hello-workgate-XXXXXX")
pids=()

phase() { printf '\n== example-check: %s\n' "$*"; }

cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql "$database_url" -qc "DROP SCHEMA IF EXISTS \"$schema\" CASCADE" >/dev/null 2>&1 || true
  # Only this run's keys: the Redis may be shared (never FLUSHDB).
  redis-cli -u "$redis_url" --scan --pattern "$prefix:*" | xargs -r -n 500 redis-cli -u "$redis_url" del >/dev/null || true
  if [[ $status -ne 0 ]]; then
    echo "example-check FAILED (status $status); logs kept in $work/*.log" >&2
    for log in "$work"/*.log; do [[ -f $log ]] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }; done
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT

# Waits up to $2 seconds for $1 (a file) to contain $3.
wait_for() {
  local deadline=$((SECONDS + $2))
  until grep -q "$3" "$1" 2>/dev/null; do
    if ((SECONDS > deadline)); then
      echo "timed out after $2 s waiting for '$3' in $1" >&2
      return 1
    fi
    sleep 0.2
  done
}

phase "build and pack @workgate/sdk"
(cd "$root" && npm run --silent build:sdk >/dev/null)
(cd "$root/libs/sdk/build" && npm pack --silent --pack-destination "$work" >/dev/null)
tarball=$(ls "$work"/workgate-sdk-*.tgz)

phase "copy the example to $work/app (outside the repository)"
mkdir "$work/app"
(cd "$root/examples/hello-workgate" && tar cf - --exclude=node_modules --exclude=dist .) | tar xf - -C "$work/app"
cd "$work/app"
npm pkg set "dependencies.@workgate/sdk=file:$tarball"

phase "npm install (the SDK from its tarball)"
npm install --prefer-offline --no-audit --no-fund --loglevel=error

phase "type-check and build"
npx tsc -p tsconfig.json --noEmit
npm run --silent build
if grep -rqs "@app/" dist; then
  echo "the example's build refers to @app/*" >&2
  exit 1
fi

phase "jest (the SDK's test kit against PostgreSQL and Redis)"
DATABASE_URL=$database_url REDIS_URL=$redis_url npm test -- --ci

phase "gateway (the repository's build) and the example's worker"
[[ -f $root/dist/apps/gateway/src/main.js ]] || (cd "$root" && npm run --silent build >/dev/null)
export DATABASE_URL=$database_url REDIS_URL=$redis_url WORKGATE_DB_SCHEMA=$schema \
  WORKGATE_QUEUE_PREFIX=$prefix WORKER_METRICS_PORT=0 LOG_LEVEL=info
node "$root/dist/apps/cli/src/main.js" migrate >"$work/migrate.log" 2>&1
token=$(node "$root/dist/apps/cli/src/main.js" tokens create --name example --role operator --json |
  node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s).token))')
PORT=0 node "$root/dist/apps/gateway/src/main.js" >"$work/gateway.log" 2>&1 &
pids+=($!)
wait_for "$work/gateway.log" 60 'gateway listening'
url=$(grep -o '"url":"[^"]*"' "$work/gateway.log" | head -n1 | cut -d'"' -f4)
url=${url/\[::1\]/127.0.0.1}
# What the example's `npm run worker` runs, started directly: killing npm left its node
# child running after the check (orphaned, polling a dropped schema every second).
node dist/src/worker.js >"$work/worker.log" 2>&1 &
pids+=($!)
wait_for "$work/worker.log" 60 'hello-workgate worker ready'

phase "start a work through the client ($url) and wait for its result"
out=$(WORKGATE_URL=$url WORKGATE_TOKEN=$token npm run --silent start-work -- ana)
echo "$out"
grep -q '"state":"COMPLETED"' <<<"$out"
grep -q '"line":"hello ana"' <<<"$out"

phase "OK"
