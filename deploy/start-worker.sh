#!/usr/bin/env bash
# Start a process worker of the work pool atomloop-process on this machine (any number of
# machines, after deploy/register.sh ran once). It polls the server for flow runs of the pool and
# runs each in a process of its own, in this checkout. Extra arguments go to `prefect worker start`
# (e.g. --name gpu-1).
# Needs: the repository checked out and installed (`make venv`), PREFECT_API_URL of the server
# (http://SERVER:4200/api), ATOMLOOP_DATABASE_URL of the shared store.
# Optional: ATOMLOOP_DASK_ADDRESS=tcp://SCHEDULER:8786 to send PySCF labelling to a Dask cluster.
set -euo pipefail
: "${PREFECT_API_URL:?set PREFECT_API_URL}" "${ATOMLOOP_DATABASE_URL:?set ATOMLOOP_DATABASE_URL}"
cd "$(dirname "$0")/.."
export ATOMLOOP_REPO="$PWD" PREFECT_SERVER_ANALYTICS_ENABLED=false
exec prefect worker start --pool atomloop-process --type process "$@"
