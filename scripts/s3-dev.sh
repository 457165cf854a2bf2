#!/usr/bin/env bash
# An S3-compatible object store on loopback, for a tansu broker whose log
# must outlive the broker process (the broker-restart test): moto's server
# (Apache-2.0), installed from PyPI, holding the objects in its own memory,
# with the bucket `tansu` created.
#
#   scripts/s3-dev.sh start  [PORT]   install if needed, start, create the bucket
#   scripts/s3-dev.sh stop   [PORT]   stop it (its objects are lost)
#
# PORT defaults to 9000. `start` is idempotent and prints the environment a
# tansu broker needs to use it, one VAR=value a line, on stdout (everything
# else goes to stderr); then run the broker with `--storage-engine
# s3://tansu/` (scripts/kafka-dev.sh takes KAFKA_DEV_STORAGE=s3://tansu/).
# State (pid file, log) lives in $S3_DEV_STATE_DIR, default target/s3-dev/.
# Environment: PYTHON (default python3), S3_DEV_TIMEOUT (seconds, default 30).
set -euo pipefail

cmd=${1:-start}
port=${2:-9000}
case "$port" in
  '' | *[!0-9]*) echo "s3-dev: invalid port '$port'" >&2; exit 2 ;;
esac

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state_dir=${S3_DEV_STATE_DIR:-$root/target/s3-dev}
pid_file=$state_dir/moto-$port.pid
log_file=$state_dir/moto-$port.log
python=${PYTHON:-python3}
timeout=${S3_DEV_TIMEOUT:-30}
endpoint=http://127.0.0.1:$port

log() { echo "s3-dev: $*" >&2; }

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
  local pid
  if ! pid=$(running_pid); then
    if port_open; then
      log "127.0.0.1:$port is already taken by another process; not starting"
      exit 1
    fi
    if ! "$python" -c 'import moto.server' 2>/dev/null; then
      log "installing moto[server] (S3 emulator) with pip"
      "$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'moto[server]' >&2
    fi
    mkdir -p "$state_dir"
    log "starting moto on $endpoint (log: $log_file)"
    nohup "$python" -m moto.server -H 127.0.0.1 -p "$port" >"$log_file" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$pid_file"
  fi
  local deadline=$((SECONDS + timeout))
  until port_open; do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "moto exited during start-up; last lines of $log_file:"
      tail -n 20 "$log_file" >&2 || true
      rm -f "$pid_file"
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "moto did not accept connections on $endpoint within ${timeout}s"
      exit 1
    fi
    sleep 0.1
  done
  # Create the bucket (an existing one is fine).
  "$python" - "$endpoint/tansu" <<'EOF'
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="PUT"))
EOF
  log "ready: $endpoint, bucket tansu (pid $pid)"
  echo "AWS_ENDPOINT=$endpoint"
  echo "AWS_ALLOW_HTTP=true"
  echo "AWS_ACCESS_KEY_ID=test"
  echo "AWS_SECRET_ACCESS_KEY=test"
  echo "AWS_DEFAULT_REGION=us-east-1"
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
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pid_file"
  log "stopped (pid $pid)"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop [PORT]" >&2; exit 2 ;;
esac
