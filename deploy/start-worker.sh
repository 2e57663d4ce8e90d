#!/usr/bin/env bash
# Start a process worker for atomloop's deployments on this machine (any number of machines).
# Needs: the repository checked out and installed (`make venv`), PREFECT_API_URL of the server
# (http://SERVER:4200/api), ATOMLOOP_DATABASE_URL of the shared store.
# Optional: ATOMLOOP_DASK_ADDRESS=tcp://SCHEDULER:8786 to send PySCF labelling to a Dask cluster.
set -euo pipefail
: "${PREFECT_API_URL:?set PREFECT_API_URL}" "${ATOMLOOP_DATABASE_URL:?set ATOMLOOP_DATABASE_URL}"
cd "$(dirname "$0")/.."
export ATOMLOOP_REPO="$PWD" PREFECT_SERVER_ANALYTICS_ENABLED=false
prefect work-pool create atomloop-process --type process 2>/dev/null || true
prefect deploy --prefect-file deploy/prefect.yaml --all
exec prefect worker start --pool atomloop-process
