#!/usr/bin/env bash
# Fails when a server handler or a CLI command could change data without a mitx-services
# workflow (docs/decisions/0007-unit-of-work.md):
#  1. mitx-server and mitx-cli must not depend on mitx-store directly: they reach the
#     database only through mitx-services, which hands out the read-only Store;
#  2. their sources must not name the write-capable handle, the unit of work, or the
#     test-only escape hatches;
#  3. the binaries must build without the `testing` features (which expose the write
#     handle to tests).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0

for crate in mitx-server mitx-cli; do
  if cargo tree --locked -p "$crate" -e normal --depth 1 --prefix none 2>/dev/null \
      | grep -E '^mitx-store( |$)'; then
    echo "FATAL: $crate depends on mitx-store directly; reach data through mitx-services workflows" >&2
    status=1
  fi
done

pattern='\bDatabase\b|\bTx\b|\.begin\(\)|execute_raw|mitx_store::|mitx_services::testing|store::testing'
# Comment lines are not code.
if grep -rnE "$pattern" mitx-server/src mitx-cli/src | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//'; then
  echo "FATAL: a handler or command names the write handle, the unit of work or a test hatch (above);" >&2
  echo "       changes of data go through a mitx-services workflow" >&2
  status=1
fi

if ! cargo check --locked --workspace --lib --bins --quiet; then
  echo "FATAL: the production build (without test features) does not compile" >&2
  status=1
fi

if [ "$status" -eq 0 ]; then
  echo "ok: server and CLI change data only through mitx-services"
fi
exit "$status"
