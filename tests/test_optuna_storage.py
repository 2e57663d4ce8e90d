"""Optuna's storage exists on every store (migration 0011): ``atomloop db optuna-url`` opens in
Optuna and in a real optuna-dashboard process on a store where no search ever ran."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest

from atomloop.labelling.cluster import free_port

DASHBOARD = Path(sys.executable).with_name("optuna-dashboard")


def test_a_fresh_store_has_optunas_tables_and_optuna_reads_and_writes_them(atomloop, database_url):
    status, url, _ = atomloop("db", "optuna-url")
    assert status == 0
    url = url.strip()
    assert optuna.get_all_study_summaries(storage=url) == []  # no "no schema has been selected to create in"
    study = optuna.create_study(study_name="probe", storage=url, direction="minimize")
    study.optimize(lambda trial: (trial.suggest_float("x", -1, 1) - 0.25) ** 2, n_trials=3)
    assert [s.study_name for s in optuna.get_all_study_summaries(storage=url)] == ["probe"]
    assert len(optuna.load_study(study_name="probe", storage=url).trials) == 3


@pytest.mark.timeout(120)
def test_optuna_dashboard_opens_the_store_before_any_search(atomloop, database_url):
    _, url, _ = atomloop("db", "optuna-url")
    port = free_port()
    process = subprocess.Popen([str(DASHBOARD), url.strip(), "--port", str(port), "--host", "127.0.0.1", "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5) as response:
                    answer = (response.status, json.loads(response.read()))
            except OSError:
                time.sleep(0.3)
        assert process.poll() is None, process.stdout.read().decode()[-2000:]
        assert answer == (200, {"study_summaries": []})
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
