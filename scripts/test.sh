#!/usr/bin/env bash
# The test suite on a fresh machine: install (with Chromium for the browser test when apt is
# available), then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: browser test will be skipped"
fi
. scripts/setup.sh
python -m pytest "$@"
