#!/usr/bin/env bash
# Conformance in CI: smtpscope against the peers' expected outputs, then the reassembly cross-check against
# tshark's follow-stream output. Fails if the peer capture folder is missing, on any unrecorded or stale
# difference, crash, hang (per-capture time limit) or lost session. Output is kept short.
set -uo pipefail
cd "$(dirname "$0")/.."
peer="${PEER_CAPTURES:-../shared/captures/peer}"
if [ ! -d "$peer" ]; then
  echo "conformance: peer capture folder $peer is missing"
  exit 1
fi
[ -f dist/conformance/run.js ] || npm run build >/dev/null || { echo "conformance: build failed"; exit 1; }
status=0
out=$(timeout 600 node dist/conformance/run.js "$peer" --timeout-ms 60000 2>&1) || status=1
# The table is long; show failures and the final line only.
printf '%s\n' "$out" | sed -n '/^failures:/,$p' | grep -v '^conformance:' | head -60
printf '%s\n' "$out" | grep '^conformance:' || { echo "conformance: no result line"; status=1; }
if command -v tshark >/dev/null 2>&1; then
  fout=$(timeout 300 node dist/conformance/follow-check.js "$peer" 2>&1) || status=1
  printf '%s\n' "$fout" | tail -30
else
  echo "follow-check: tshark is not installed; the reassembly cross-check needs it"
  status=1
fi
exit $status
