#!/usr/bin/env bash
# Validates AsyncAPI documents with the official AsyncAPI parser
# (@asyncapi/parser from the npm registry, the version and its whole
# dependency tree pinned by scripts/asyncapi-validator/package-lock.json),
# installed on first use into target/asyncapi-validator (again whenever the
# lock file changes). Needs node (18 or later) and npm.
#
#   scripts/asyncapi-validate.sh FILE..       # documents, JSON or YAML
#   scripts/asyncapi-validate.sh --examples   # the documents every example prints
#                                             # (`-- asyncapi`, JSON and `--yaml`)
#
# Exits non-zero if a document has an error (warnings are printed only).
# ASYNCAPI_VALIDATOR_DIR chooses the install directory.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source_dir=$root/scripts/asyncapi-validator
dir=${ASYNCAPI_VALIDATOR_DIR:-$root/target/asyncapi-validator}

for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "asyncapi-validate.sh: $tool is not installed (apt-get install nodejs npm)" >&2; exit 1; }
done

# Installed from the lock file, unless this very lock file is installed.
if ! cmp -s "$source_dir/package-lock.json" "$dir/installed-lock.json" \
  || [ ! -f "$dir/node_modules/@asyncapi/parser/package.json" ]; then
  echo "asyncapi-validate.sh: installing @asyncapi/parser into $dir" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$source_dir/package.json" "$source_dir/package-lock.json" "$dir/"
  npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  # Written last: it marks a finished install of this lock file.
  cp "$source_dir/package-lock.json" "$dir/installed-lock.json"
fi
cp "$source_dir/validate.mjs" "$dir/"

if [ "${1:-}" != "--examples" ]; then
  [ "$#" -gt 0 ] || { echo "usage: scripts/asyncapi-validate.sh FILE.. | --examples" >&2; exit 2; }
  exec node "$dir/validate.mjs" "$@"
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo build --quiet --all-features --examples
for example in examples/*.rs; do
  name=$(basename "$example" .rs)
  cargo run --quiet --all-features --example "$name" -- asyncapi -o "$out/$name.json"
  cargo run --quiet --all-features --example "$name" -- asyncapi --yaml -o "$out/$name.yaml"
done
node "$dir/validate.mjs" "$out"/*.json "$out"/*.yaml
