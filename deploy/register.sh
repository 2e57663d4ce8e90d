#!/usr/bin/env bash
# Register atomloop on a Prefect server, once (again after editing deploy/prefect.yaml): the work
# pool atomloop-process, the automation that marks flow runs Crashed when their heartbeats stop
# (atomloop/loop/crashed_runs.py) and the deployments of deploy/prefect.yaml.
# Needs: the repository installed (`make venv`) and PREFECT_API_URL (http://SERVER:4200/api).
# Optional: ATOMLOOP_CRASH_AFTER_S, seconds without a heartbeat before a run is Crashed (default 90).
set -euo pipefail
: "${PREFECT_API_URL:?set PREFECT_API_URL}"
cd "$(dirname "$0")/.."
export PREFECT_SERVER_ANALYTICS_ENABLED=false
prefect work-pool inspect atomloop-process >/dev/null 2>&1 || prefect work-pool create atomloop-process --type process
python -m atomloop.loop.crashed_runs --within "${ATOMLOOP_CRASH_AFTER_S:-90}"
prefect deploy --prefect-file deploy/prefect.yaml --all
