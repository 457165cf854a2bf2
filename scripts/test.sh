#!/usr/bin/env bash
# The test command of the README: starts a Kafka-compatible broker on
# loopback (scripts/kafka-dev.sh, installs it on first use), runs every test
# of the workspace against it, and stops the broker again.
#
#   scripts/test.sh            # all tests, real-broker tests included
#   SKIP_BROKER=1 scripts/test.sh   # no broker: real-broker tests say they were skipped
set -euo pipefail
cd "$(dirname "$0")/.."

port=${KAFKA_DEV_PORT:-19092}
if [ -z "${SKIP_BROKER:-}" ]; then
  scripts/kafka-dev.sh start "$port"
  trap 'scripts/kafka-dev.sh stop "$port" || true' EXIT
  export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$port
  export KAFKA_DEV_PORT=$port
fi

cargo test --workspace --all-features
