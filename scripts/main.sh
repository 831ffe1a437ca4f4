#!/usr/bin/env bash
# The main job on a fresh machine: install, train the default model if none exists, run the
# nightly flow on the bundled snapshot for a two-week window, show the merged lines and the report.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
SINCE=${SINCE:-2026-03-02}
UNTIL=${UNTIL:-2026-03-15}
if ! trust-tagger models list 2>/dev/null | grep -q '\*'; then
  echo "== no current model: training the default one (MiniLM, CPU) =="
  trust-tagger train
fi
echo "== nightly flow on the snapshot, $SINCE .. $UNTIL =="
trust-tagger nightly --source snapshot --since "$SINCE" --until "$UNTIL"
echo "== the list change (git diff of data/awesome-list) =="
git --no-pager diff --stat -- data/awesome-list || true
git --no-pager diff -U0 -- data/awesome-list | grep '^+- ' || echo "(no new lines: this window was merged before)"
report=$(ls -td reports/*-snapshot | head -n 1)
echo "== report: $report/report.md =="
cat "$report/report.md"
