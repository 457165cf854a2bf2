#!/usr/bin/env bash
# A PostgreSQL server on loopback for development and tests, without Docker:
# the Debian `postgresql` package, a private cluster under target/, trust
# authentication for loopback connections only.
#
#   scripts/postgres-dev.sh start  [PORT]   install if needed, init, start, wait until ready
#   scripts/postgres-dev.sh stop   [PORT]   stop it (the data directory is kept)
#   scripts/postgres-dev.sh status [PORT]   exit 0 when running and accepting connections
#   scripts/postgres-dev.sh ca     [PORT]   print the path of the server's certificate
#
# The server also takes TLS (`sslmode=require`) with a self-signed
# certificate for 127.0.0.1, made with `openssl` on first start; `ca`
# prints its path, for `sslrootcert=` or PGSSLROOTCERT.
#
# PORT defaults to 15432. Every command is idempotent. `start` prints
#   ONEX_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:PORT/onex
# on stdout (everything else goes to stderr), so a caller can
#   url=$(scripts/postgres-dev.sh start 15432) && export "$url"
#
# State (cluster, log) lives in $POSTGRES_DEV_STATE_DIR, default
# target/postgres-dev/PORT/ under the repository. The server runs as the
# `postgres` system user (initdb refuses to run as root).
# Environment: POSTGRES_DEV_TIMEOUT (seconds to wait, default 30).
set -euo pipefail

cmd=${1:-status}
port=${2:-15432}
case "$port" in
  '' | *[!0-9]*) echo "postgres-dev: invalid port '$port'" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_dir=${POSTGRES_DEV_STATE_DIR:-$root/target/postgres-dev/$port}
data_dir=$state_dir/data
log_file=$state_dir/postgres.log
timeout=${POSTGRES_DEV_TIMEOUT:-30}
database=onex
url="postgres://postgres@127.0.0.1:$port/$database"

log() { echo "postgres-dev: $*" >&2; }

# The newest installed server's bin directory (initdb, pg_ctl, pg_isready).
bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

install() {
  if bindir >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    log "PostgreSQL is not installed and this is not root: apt-get install postgresql"
    exit 1
  fi
  log "installing PostgreSQL from the Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bindir >/dev/null || { log "postgresql installed but no /usr/lib/postgresql/*/bin/initdb"; exit 1; }
}

# Runs a command as the `postgres` user when this is root.
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

ready() {
  local bin
  bin=$(bindir) || return 1
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres
}

running() {
  local bin
  bin=$(bindir) || return 1
  [ -f "$data_dir/postmaster.pid" ] && as_postgres "$bin/pg_ctl" -D "$data_dir" status >/dev/null 2>&1
}

init() {
  local bin=$1
  [ -f "$data_dir/PG_VERSION" ] && return 0
  log "initializing a cluster in $data_dir"
  mkdir -p "$state_dir"
  if [ "$(id -u)" -eq 0 ]; then
    # The server's user must own its directories and reach them.
    chown postgres: "$state_dir"
    local dir=$state_dir
    while [ "$dir" != / ]; do
      chmod o+x "$dir" 2>/dev/null || true
      dir=$(dirname "$dir")
    done
  fi
  as_postgres "$bin/initdb" -D "$data_dir" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$state_dir/initdb.log" 2>&1 || {
    log "initdb failed; see $state_dir/initdb.log"
    tail -n 20 "$state_dir/initdb.log" >&2 || true
    exit 1
  }
  # Loopback TCP only (no Unix socket outside the state directory).
  cat >"$data_dir/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF
  cat >>"$data_dir/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$state_dir'
max_connections = 200
fsync = on
EOF
  [ "$(id -u)" -eq 0 ] && chown postgres: "$data_dir/pg_hba.conf" "$data_dir/postgresql.conf"
  return 0
}

# A self-signed certificate for 127.0.0.1, and TLS switched on (once).
tls() {
  [ -f "$data_dir/server.crt" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$data_dir/server.key" -out "$data_dir/server.crt" >/dev/null 2>&1 || {
    log "openssl could not make a certificate; TLS stays off"
    return 0
  }
  chmod 600 "$data_dir/server.key"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$data_dir/server.key" "$data_dir/server.crt"
  echo "ssl = on" >>"$data_dir/postgresql.conf"
}

start() {
  install
  local bin
  bin=$(bindir)
  if running && ready; then
    log "already running on 127.0.0.1:$port"
  else
    if ready; then
      log "127.0.0.1:$port is already served by another PostgreSQL; not starting"
      exit 1
    fi
    init "$bin"
    tls
    touch "$log_file"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$log_file"
    log "starting PostgreSQL on 127.0.0.1:$port (log: $log_file)"
    as_postgres "$bin/pg_ctl" -D "$data_dir" -l "$log_file" -w -t "$timeout" start >&2 || {
      log "PostgreSQL did not start; last lines of $log_file:"
      tail -n 20 "$log_file" >&2 || true
      exit 1
    }
    local deadline=$((SECONDS + timeout))
    until ready; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        log "PostgreSQL did not accept connections on 127.0.0.1:$port within ${timeout}s"
        exit 1
      fi
      sleep 0.1
    done
  fi
  if ! psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
    psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE $database" >&2
  fi
  log "ready"
  echo "ONEX_TEST_POSTGRES_URL=$url"
}

stop() {
  local bin
  if ! bin=$(bindir) || ! running; then
    log "not running on port $port"
    return 0
  fi
  as_postgres "$bin/pg_ctl" -D "$data_dir" -m fast -w stop >&2
  log "stopped"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status)
    if running && ready; then
      log "running on 127.0.0.1:$port"
      echo "ONEX_TEST_POSTGRES_URL=$url"
    else
      log "not running on port $port"
      exit 1
    fi
    ;;
  restart) stop; start ;;
  ca)
    [ -f "$data_dir/server.crt" ] || { log "no certificate yet: start the server first"; exit 1; }
    echo "$data_dir/server.crt"
    ;;
  *) echo "usage: $0 start|stop|status|restart|ca [PORT]" >&2; exit 2 ;;
esac
