"""Each round of the loop publishes its table as a Prefect markdown artifact on the real local server."""

from __future__ import annotations

from ase.build import molecule

from atomloop.ingest import ingest_atoms
from atomloop.loop.config import LoopConfig
from atomloop.loop.entrypoints import load_flow

POOL = ["CH4", "NH3", "H2O", "HF", "CO", "HCN", "H2CO", "CH3OH", "C2H4", "C2H2", "CH3CH2OH", "CH3CN"]


def test_a_round_publishes_its_table_as_a_markdown_artifact(engine, prefect_api):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    ingest_atoms([molecule(n) for n in POOL], source="test", tags=["artifacts"], engine=engine)
    config = LoopConfig(pool="artifacts", initial=3, test_size=2, ood_size=2, k=2, rounds=0, method="hf",
                        basis="sto-3g", schemes=("ao-eda",), architectures=("schnet",), target="total", epochs=2,
                        name="Art_1")
    load_flow("active_learning.py:active_learning")(config=config)
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["art-1-round-0"])))
    assert artifact.type == "markdown"
    assert artifact.data.startswith("### Run Art_1, round 0")
    assert "| schnet |" in artifact.data and "atomloop report --run Art_1" in artifact.data
