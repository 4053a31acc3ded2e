#!/usr/bin/env bash
# Makes PostgreSQL and Redis reachable where DATABASE_URL and REDIS_URL point
# (defaults postgresql://postgres@127.0.0.1:5432/workgate and redis://127.0.0.1:6379),
# then creates the application database named in DATABASE_URL when it is missing.
#
# For each service that does not answer, in this order:
#   1. a Docker engine answers (`docker info`)  -> docker compose -f docker/compose.yml up -d --wait
#   2. the Debian services are installed         -> start them with the commands in
#                                                   ENVIRONMENT.md
#   3. apt-get exists and we are root            -> apt-get install them, then as in 2
#   4. otherwise fail, naming what to install.
# Services are only started for loopback hosts; a remote host is waited for, never started.
#
#   source scripts/ensure-services.sh   # from another script (.ci/run, scripts/up.sh)
#   bash scripts/ensure-services.sh
#
# Settings: WORKGATE_SERVICES_TIMEOUT (seconds to wait for readiness, default 90).

_wg_svc_log() { echo "[workgate] $*" >&2; }

_wg_svc_root() { (cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd); }

# Percent-decodes $1 (URL user names, passwords and database names; `+` stays literal).
_wg_svc_urldecode() { printf '%b' "${1//%/\\x}"; }

# Splits a URL into the globals _wg_user _wg_pass _wg_host _wg_port _wg_path.
# Handles scheme://user:pass@host:port/path?query and IPv6 hosts in brackets.
_wg_svc_parse_url() {
  local url=$1 default_port=$2 rest auth hostport userinfo
  rest=${url#*://}
  rest=${rest%%\?*}
  rest=${rest%%#*}
  auth=${rest%%/*}
  _wg_path=""
  [[ $rest == */* ]] && _wg_path=${rest#*/}
  _wg_user="" _wg_pass=""
  if [[ $auth == *@* ]]; then
    userinfo=${auth%@*}
    hostport=${auth##*@}
    _wg_user=$(_wg_svc_urldecode "${userinfo%%:*}")
    [[ $userinfo == *:* ]] && _wg_pass=$(_wg_svc_urldecode "${userinfo#*:}")
  else
    hostport=$auth
  fi
  if [[ $hostport == \[*\]* ]]; then
    _wg_host=${hostport#[}
    _wg_host=${_wg_host%%]*}
    _wg_port=${hostport##*]}
    _wg_port=${_wg_port#:}
  elif [[ $hostport == *:* ]]; then
    _wg_host=${hostport%%:*}
    _wg_port=${hostport#*:}
  else
    _wg_host=$hostport
    _wg_port=""
  fi
  _wg_host=${_wg_host:-127.0.0.1}
  _wg_port=${_wg_port:-$default_port}
}

_wg_svc_is_local() {
  case $1 in
    127.* | localhost | ::1 | 0.0.0.0 | "") return 0 ;;
    *) return 1 ;;
  esac
}

# True when something accepts TCP connections at host $1 port $2 (bash's /dev/tcp).
_wg_svc_tcp_open() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# True when PostgreSQL at host $1 port $2 accepts connections (not merely starting up).
_wg_svc_pg_ready() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$1" -p "$2" -t 3
  else
    _wg_svc_tcp_open "$1" "$2"
  fi
}

# Speaks RESP over bash's /dev/tcp, for machines without redis-cli: args host port pass user.
_wg_svc_redis_ping_tcp() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  local script='
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    if [[ -n $3 ]]; then
      if [[ -n $4 ]]; then printf "AUTH %s %s\r\n" "$4" "$3"; else printf "AUTH %s\r\n" "$3"; fi >&3
      read -r reply <&3
    fi
    printf "PING\r\n" >&3
    read -r reply <&3
    [[ $reply == "+PONG"* ]]'
  timeout 3 bash -c "$script" _ "$@" 2>/dev/null
}

# True when Redis at host $1 port $2 answers PING with PONG (not LOADING, not an error).
# A password ($3, user $4), when the URL has one, is passed through REDISCLI_AUTH / AUTH.
_wg_svc_redis_ready() {
  local host=$1 port=$2 pass=${3:-} user=${4:-}
  if command -v redis-cli >/dev/null 2>&1; then
    local args=(-h "$host" -p "$port")
    [[ -n $user && -n $pass ]] && args+=(--user "$user")
    [[ $(REDISCLI_AUTH=$pass timeout 3 redis-cli "${args[@]}" ping 2>/dev/null) == PONG ]]
  else
    _wg_svc_redis_ping_tcp "$host" "$port" "$pass" "$user"
  fi
}

_wg_svc_docker_ok() {
  command -v docker >/dev/null 2>&1 && timeout 20 docker info >/dev/null 2>&1
}

_wg_svc_compose() {
  if docker compose version >/dev/null 2>&1; then
    docker compose -f "$(_wg_svc_root)/docker/compose.yml" "$@"
  elif command -v docker-compose >/dev/null 2>&1; then
    docker-compose -f "$(_wg_svc_root)/docker/compose.yml" "$@"
  else
    _wg_svc_log "docker answers but neither 'docker compose' nor docker-compose is installed"
    return 1
  fi
}

_wg_svc_pg_installed() {
  command -v pg_ctlcluster >/dev/null 2>&1 && [[ -n $(ls /etc/postgresql 2>/dev/null) ]]
}

_wg_svc_redis_installed() { command -v redis-server >/dev/null 2>&1; }

# The start commands from ENVIRONMENT.md, verbatim (the fault tests use the same ones).
# They listen on the default ports only.
_wg_svc_start_pg() {
  [[ $pg_port == 5432 ]] || _wg_svc_log "warning: the local cluster is started as configured (port 5432 here), DATABASE_URL says $pg_port"
  _wg_svc_log "starting PostgreSQL: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
  # shellcheck disable=SC2046 # one version directory on these machines, as documented
  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
}

_wg_svc_start_redis() {
  [[ $redis_port == 6379 ]] || _wg_svc_log "warning: this starts Redis on port 6379, REDIS_URL says $redis_port"
  _wg_svc_log "starting Redis: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 ..."
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

# A cluster created by apt-get has peer/scram authentication; the project (and its
# tests) connect as postgres over TCP without a password, as on the prepared machines.
_wg_svc_pg_trust_local() {
  local hba
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    [[ -f $hba ]] || continue
    _wg_svc_log "configuring trust authentication for local connections in $hba"
    cat >"$hba" <<'HBA'
# Written by workgate scripts/ensure-services.sh for a freshly installed CI cluster:
# trust on the socket and on loopback only, like the prepared development machines.
local   all  all                 trust
host    all  all  127.0.0.1/32   trust
host    all  all  ::1/128        trust
HBA
  done
}

_wg_svc_apt_install() {
  local pkgs=("$@")
  _wg_svc_log "installing ${pkgs[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y "${pkgs[@]}" >/dev/null 2>&1; then
    _wg_svc_log "apt-get install failed; running apt-get update first"
    apt-get update -q >/dev/null || return 1
    apt-get install -y "${pkgs[@]}" >/dev/null || return 1
  fi
}

# Waits until $1 (postgres|redis) is ready, up to the deadline, printing progress.
# Says nothing when it is ready at once.
_wg_svc_wait() {
  local what=$1 timeout=${WORKGATE_SERVICES_TIMEOUT:-90} start=$SECONDS next_note=5 tries=0
  while :; do
    if [[ $what == postgres ]]; then
      _wg_svc_pg_ready "$pg_host" "$pg_port" && break
    else
      _wg_svc_redis_ready "$redis_host" "$redis_port" "$redis_pass" "$redis_user" && break
    fi
    local waited=$((SECONDS - start))
    if ((waited >= timeout)); then
      _wg_svc_log "$what did not become ready within ${timeout}s"
      return 1
    fi
    if ((waited >= next_note)); then
      _wg_svc_log "waiting for $what... ${waited}s"
      next_note=$((next_note + 5))
    fi
    tries=$((tries + 1))
    sleep 1
  done
  ((tries == 0)) || _wg_svc_log "$what is ready after $((SECONDS - start))s"
}

# Creates the database named in DATABASE_URL when it does not exist.
_wg_svc_create_db() {
  local db=$pg_db
  [[ -n $db ]] || return 0
  local conn=(-h "$pg_host" -p "$pg_port" -U "$pg_user")
  if command -v psql >/dev/null 2>&1; then
    local exists
    # psql variables (:'db') quote the name; -c would not interpolate them.
    exists=$(printf "SELECT 1 FROM pg_database WHERE datname = :'db'\n" |
      PGPASSWORD=$pg_pass PGCONNECT_TIMEOUT=5 psql -X -q -tA -v ON_ERROR_STOP=1 -v db="$db" "${conn[@]}" -d postgres) || {
      _wg_svc_log "could not query PostgreSQL at $pg_host:$pg_port as $pg_user"
      return 1
    }
    [[ $exists == 1 ]] && return 0
    _wg_svc_log "creating database $db"
    local out
    # "already exists": another process created it at the same moment.
    out=$(PGPASSWORD=$pg_pass createdb "${conn[@]}" "$db" 2>&1) || [[ $out == *"already exists"* ]] || {
      echo "$out" >&2
      return 1
    }
  elif [[ $_wg_used_docker == 1 ]]; then
    local out
    out=$(_wg_svc_compose exec -T postgres createdb -U postgres "$db" 2>&1) || [[ $out == *"already exists"* ]] || {
      echo "$out" >&2
      return 1
    }
  else
    _wg_svc_log "psql is not installed: cannot check that database $db exists (apt-get install -y postgresql-client)"
  fi
}

workgate_ensure_services() {
  local _wg_user _wg_pass _wg_host _wg_port _wg_path
  local pg_host pg_port pg_user pg_pass pg_db redis_host redis_port redis_pass redis_user
  local _wg_used_docker=0
  _wg_svc_parse_url "${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/workgate}" 5432
  pg_host=$_wg_host pg_port=$_wg_port pg_user=${_wg_user:-postgres} pg_pass=$_wg_pass
  pg_db=$(_wg_svc_urldecode "$_wg_path")
  _wg_svc_parse_url "${REDIS_URL:-redis://127.0.0.1:6379}" 6379
  redis_host=$_wg_host redis_port=$_wg_port redis_pass=$_wg_pass redis_user=$_wg_user

  local need=()
  _wg_svc_pg_ready "$pg_host" "$pg_port" || need+=(postgres)
  _wg_svc_redis_ready "$redis_host" "$redis_port" "$redis_pass" "$redis_user" || need+=(redis)

  if ((${#need[@]} > 0)); then
    _wg_svc_log "not reachable: ${need[*]} (PostgreSQL $pg_host:$pg_port, Redis $redis_host:$redis_port)"
    local svc remote=()
    for svc in "${need[@]}"; do
      if [[ $svc == postgres ]]; then _wg_svc_is_local "$pg_host" || remote+=(postgres); fi
      if [[ $svc == redis ]]; then _wg_svc_is_local "$redis_host" || remote+=(redis); fi
    done
    if ((${#remote[@]} > 0)); then
      _wg_svc_log "${remote[*]} is on a remote host; not starting anything, only waiting"
    elif _wg_svc_docker_ok; then
      _wg_svc_log "a Docker engine answers: docker compose up -d --wait ${need[*]}"
      _wg_svc_compose up -d --wait "${need[@]}" || return 1
      _wg_used_docker=1
    else
      local missing=()
      for svc in "${need[@]}"; do
        if [[ $svc == postgres ]] && ! _wg_svc_pg_installed; then missing+=(postgresql); fi
        if [[ $svc == redis ]] && ! _wg_svc_redis_installed; then missing+=(redis-server); fi
      done
      if ((${#missing[@]} > 0)); then
        if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
          local had_cluster
          had_cluster=$(ls /etc/postgresql 2>/dev/null || true)
          _wg_svc_apt_install "${missing[@]}" || {
            _wg_svc_log "apt-get install -y ${missing[*]} failed"
            return 1
          }
          # Only a cluster this install created is reconfigured, never an existing one.
          local fresh_cluster=0
          if [[ -z $had_cluster && -n $(ls /etc/postgresql 2>/dev/null) ]]; then
            fresh_cluster=1
            _wg_svc_pg_trust_local
          fi
          # The packages may have started a service of their own; probe again.
          need=()
          _wg_svc_pg_ready "$pg_host" "$pg_port" || need+=(postgres)
          _wg_svc_redis_ready "$redis_host" "$redis_port" "$redis_pass" "$redis_user" || need+=(redis)
          # A cluster the package already started has read the old pg_hba.conf.
          if ((fresh_cluster)) && [[ " ${need[*]} " != *" postgres "* ]]; then
            # shellcheck disable=SC2046 # one version directory, as documented
            pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main reload || true
          fi
        else
          _wg_svc_log "cannot start ${need[*]}: no Docker engine answers, ${missing[*]} is not installed, and apt-get as root is not available."
          _wg_svc_log "install them (Debian/Ubuntu: sudo apt-get install -y ${missing[*]}), start a Docker engine"
          _wg_svc_log "(then docker compose -f docker/compose.yml up -d), or point DATABASE_URL / REDIS_URL at running servers"
          return 1
        fi
      fi
      for svc in "${need[@]}"; do
        if [[ $svc == postgres ]]; then
          # "already running" (exit 2) is fine: the wait below tells whether it answers.
          _wg_svc_start_pg || _wg_svc_log "pg_ctlcluster exited with $?"
        else
          _wg_svc_start_redis || { _wg_svc_log "redis-server did not start (see /var/log/redis/ci.log)"; return 1; }
        fi
      done
    fi
  fi

  _wg_svc_wait postgres || return 1
  _wg_svc_wait redis || return 1
  _wg_svc_create_db || return 1
  ((${#need[@]} == 0)) || _wg_svc_log "PostgreSQL $pg_host:$pg_port and Redis $redis_host:$redis_port are ready"
}

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
  workgate_ensure_services
  return
else
  set -euo pipefail
  workgate_ensure_services
fi
