#!/usr/bin/env bash
# Shared by main.sh and test.sh: a venv with the project installed (pip only: it sees the local
# CPU torch wheel; uv/poetry would download CUDA builds), plus the offline settings.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
quiet() { grep -v "^WARNING: Location" || true; }  # this machine's pip config names absent local mirrors
python -m pip install -q --upgrade pip 2>&1 | quiet
python -m pip install -q -e ".[test]" 2>&1 | quiet  # pipefail: a failed install stops here
python -c "import trust_tagger, torch, prefect"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 DO_NOT_TRACK=1 \
       PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_SERVER_UI_ENABLED=false \
       PREFECT_HOME="$PWD/.prefect" TOKENIZERS_PARALLELISM=false
