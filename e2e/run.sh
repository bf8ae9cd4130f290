#!/usr/bin/env bash
# Starts `mitx serve --demo` on a free loopback port with a fresh SQLite file and runs the
# browser purchase against it. Usage: e2e/run.sh [path to the mitx binary]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mitx="${1:-$here/../target/debug/mitx}"
mitx="$(cd "$(dirname "$mitx")" && pwd)/$(basename "$mitx")"
cd "$here"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
cleanup() {
  if [ -n "${server:-}" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
# `exec`: $! is then the server itself, so the cleanup stops it (not just a subshell).
(cd "$work" && exec env -u SITE_BASE_URL DATABASE_URL="sqlite://$work/demo.db" MITX_EMAIL_OUTBOX="$work/outbox" \
  "$mitx" serve --demo --bind "127.0.0.1:$port" >"$work/server.log" 2>&1) &
server=$!
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then cat "$work/server.log"; echo "FATAL: mitx serve --demo exited" >&2; exit 1; fi
  sleep 0.2
done
if ! node purchase.mjs "http://127.0.0.1:$port"; then
  echo "--- server log" >&2; cat "$work/server.log" >&2; exit 1
fi
