"""``atomloop demo``: a small real active-learning study, end to end, on a laptop.

Ingests ASE's G2 molecules and atomloop's organic SMILES set (two RDKit conformers each),
then runs the ``active_learning`` flow: HF/STO-3G labels partitioned into atomic energies
(Pipek-Mezey/IAO), an initial training set of small molecules, 3 rounds of batches selected
by the loop's default strategy (lcmd; adversarial validation tests each round for shift),
SchNet and NequIP trained on atomic energies every round: round 0 from scratch (epochs chosen
by 5-fold validation), later rounds continuing the previous round's models (warm start).
"""

from __future__ import annotations

import time
from pathlib import Path

import ase.collections

from atomloop.config import get_settings
from atomloop.db import migrate
from atomloop.db.connect import database_url
from atomloop.db.engine import get_engine, session_scope
from atomloop.ingest import ingest_atoms, ingest_source
from atomloop.loop.config import LoopConfig

POOL_TAG = "organic"
DEMO_ELEMENTS = frozenset({1, 6, 7, 8, 9, 17})
DEMO_CONFIG = LoopConfig(
    pool_tag=POOL_TAG, schemes=("mo-pm-iao", "ao-eda"), epochs=120, stop_on_auc=False, name="demo",
    test_size=40, k=40, warm_start_epochs=60,
)  # rounds 1-3 continue the previous round's models for 60 epochs, one training each; LoopConfig's
# defaults otherwise: 20 initial, 10 OOD, 3 rounds, HF/STO-3G, SchNet+NequIP


def ingest_demo_molecules() -> None:
    """G2 (tag ``g2``; its H/C/N/O/F/Cl molecules also join the pool) and the organic set."""
    engine = get_engine()
    g2 = ingest_source("ase:g2", tags=["g2"], engine=engine)
    organic_g2 = [a for a in ase.collections.g2 if set(a.numbers) <= DEMO_ELEMENTS]
    ingest_atoms(organic_g2, source="ase:g2", tags=[POOL_TAG], engine=engine)
    smiles = ingest_source("atomloop:organic", tags=[POOL_TAG], conformers=2, engine=engine)
    print(f"ingested ase:g2 ({g2.added} new) and atomloop:organic with 2 conformers ({smiles.added} new)")


def write_run_report(run_name: str) -> Path:
    """Write the HTML report of an active-learning run to ``$ATOMLOOP_HOME/reports/<run>.html``."""
    from atomloop.report.run import run_report
    from atomloop.store.reports import run_rows

    path = get_settings().home / "reports" / f"{run_name}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    with session_scope(get_engine()) as session:
        path.write_text(run_report(run_rows(session, run_name)), encoding="utf-8")
    return path


def run_demo(task_runner: str = "process", workers: int = 2) -> None:
    """Set up the store, ingest, run the loop and say where to look at the results."""
    from atomloop.loop.entrypoints import load_flow
    from atomloop.loop.prefect_api import shared_prefect_api
    from atomloop.loop.tasks import make_task_runner

    started = time.perf_counter()
    url = database_url()
    migrate.upgrade(url)
    ingest_demo_molecules()
    flow = load_flow("active_learning.py:active_learning").with_options(
        task_runner=make_task_runner(task_runner, workers)
    )
    with shared_prefect_api():
        flow(config=DEMO_CONFIG)
    report = write_run_report(DEMO_CONFIG.run_name)
    print(f"\ndemo finished in {time.perf_counter() - started:.0f} s. Look at the results:")
    print(f"  {report}   # HTML report: rounds, AUC and errors over rounds, learning curves, selected molecules")
    print('  ase db "$(atomloop db ase-url)" -c +name,split,energy_hartree     # molecules, live')
    print("  psql \"$(atomloop db url | sed 's/+psycopg//')\" -c 'SELECT * FROM model_metrics_by_round'")
    print("  atomloop serve   # then open the Prefect UI at http://127.0.0.1:4200")
