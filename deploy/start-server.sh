#!/usr/bin/env bash
# Start a Prefect server on this machine, backed by the PostgreSQL server of the store.
# Needs: ATOMLOOP_DATABASE_URL (postgresql+psycopg://user:password@host:port/atomloop) and a
# database "prefect" on the same server that the user may write (CREATE DATABASE prefect;).
# Listens on PREFECT_HOST (default 127.0.0.1; use the machine's address for remote workers).
set -euo pipefail
: "${ATOMLOOP_DATABASE_URL:?set ATOMLOOP_DATABASE_URL}"
prefect_url=$(python - <<'PY'
import os
from sqlalchemy.engine import make_url
url = make_url(os.environ["ATOMLOOP_DATABASE_URL"]).set(drivername="postgresql+asyncpg", database="prefect")
print(url.render_as_string(hide_password=False))
PY
)
export PREFECT_API_DATABASE_CONNECTION_URL="$prefect_url" PREFECT_SERVER_ANALYTICS_ENABLED=false
exec prefect server start --host "${PREFECT_HOST:-127.0.0.1}" --port "${PREFECT_PORT:-4200}"
