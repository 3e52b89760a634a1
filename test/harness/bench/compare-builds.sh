#!/usr/bin/env bash
# Byte-for-byte comparison of two builds' outputs: the NDJSON and the four CSV files that `smtpscope analyze`
# writes for each capture, from the build in OLD and the build in NEW (each a checkout with `npm run build`
# done, so OLD/dist/cli/bin.js exists). Prints one line per file and the first differing line of each
# difference; exits 1 if any file differs.
#
#   test/harness/bench/compare-builds.sh OLD NEW CAPTURE...
#
# docs/PERFORMANCE.md ("Same results") runs it with the build before a performance change as OLD and the build
# after it as NEW, on the real-traffic reference corpus.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 OLD NEW CAPTURE..." >&2
  exit 2
fi
OLD=$1
NEW=$2
shift 2
OUT=$(mktemp -d "${TMPDIR:-/tmp}/smtpscope-compare-XXXXXX")
trap 'rm -rf "$OUT"' EXIT
status=0
n=0
for capture in "$@"; do
  n=$((n + 1))
  for side in old new; do
    if [ "$side" = old ]; then build=$OLD; else build=$NEW; fi
    mkdir -p "$OUT/$n/$side/csv"
    node "$build/dist/cli/bin.js" analyze "$capture" --no-tui --json "$OUT/$n/$side/sessions.ndjson" \
      --csv "$OUT/$n/$side/csv" > "$OUT/$n/$side/summary.txt"
  done
  for file in sessions.ndjson csv/sessions.csv csv/transactions.csv csv/recipients.csv csv/commands.csv; do
    old=$OUT/$n/old/$file
    new=$OUT/$n/new/$file
    if [ ! -f "$old" ] || [ ! -f "$new" ]; then
      echo "MISSING  $capture $file"
      status=1
    elif cmp -s "$old" "$new"; then
      echo "same     $capture $file ($(wc -l < "$new") lines, $(wc -c < "$new") bytes)"
    else
      status=1
      line=$(cmp "$old" "$new" | sed -n 's/.* line \([0-9]*\).*/\1/p')
      echo "DIFFERS  $capture $file (first at line $line)"
      echo "  old: $(sed -n "${line}p" "$old" | cut -c1-300)"
      echo "  new: $(sed -n "${line}p" "$new" | cut -c1-300)"
    fi
  done
done
exit $status
