"""``atomloop loop`` that kills its own process group (SIGKILL) at one point of round 1.

Run as ``python tests/helpers/loop_fault_driver.py POINT [loop options]``: POINT is ``after-<step>``
(right after round 1 records the step) or ``inside-<step>`` (in the middle of it: selection
before its transaction commits, labelling once one calculation is done, training before the
first model is registered, evaluation before the second model's pool predictions are stored).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from sqlalchemy import text

import atomloop.loop.steps
import atomloop.loop.tasks
import atomloop.recipes.evaluate
import atomloop.recipes.train
import atomloop.store.selections
from atomloop.cli import main

ROUND = 1


def die() -> None:
    os.killpg(os.getpgrp(), signal.SIGKILL)


def kill_after(step: str) -> None:
    original = atomloop.loop.steps._mark

    def mark(engine, run_id, index, name, seconds):
        original(engine, run_id, index, name, seconds)
        if name == step and index == ROUND:
            die()

    atomloop.loop.steps._mark = mark


def kill_inside_selection() -> None:
    original = atomloop.store.selections._write_picks

    def write_picks(*args, **kwargs):
        original(*args, **kwargs)
        die()  # the selection's transaction is open: its rows must vanish

    atomloop.store.selections._write_picks = write_picks


def kill_inside_labelling() -> None:
    original = atomloop.loop.tasks.fan_out_labeller

    def labeller(settings, molecule_ids, **kwargs):
        from atomloop.db.engine import get_engine

        engine = get_engine()

        def finished() -> int:
            with engine.connect() as connection:
                return connection.execute(text("SELECT count(*) FROM calculations WHERE status = 'done'")).scalar()

        before = finished()  # counted before any of this round's calculations can finish

        def watch() -> None:
            while finished() == before:
                time.sleep(0.02)
            die()

        threading.Thread(target=watch, daemon=True).start()
        return original(settings, molecule_ids, **kwargs)

    atomloop.loop.tasks.fan_out_labeller = labeller


def kill_inside_training() -> None:
    def register_model(*args, **kwargs):
        die()  # trained, checkpointed, not registered

    atomloop.recipes.train.register_model = register_model


def kill_inside_evaluation() -> None:
    original = atomloop.recipes.evaluate.predict_and_store
    calls = []

    def predict_and_store(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            die()  # the first model's pool predictions are stored, the second's are not
        return original(*args, **kwargs)

    atomloop.recipes.evaluate.predict_and_store = predict_and_store


INSIDE = {
    "selected": kill_inside_selection,
    "labelled": kill_inside_labelling,
    "trained": kill_inside_training,
    "evaluated": kill_inside_evaluation,
}

if __name__ == "__main__":
    point, *options = sys.argv[1:]
    where, _, step = point.partition("-")
    if where == "after":
        kill_after(step)
    else:
        INSIDE[step]()
    sys.argv = ["atomloop", *options]
    main()
