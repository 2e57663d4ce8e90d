"""Training throughput (molecules/s) of atomloop's SchNet and NequIP, and of NequIP through the
``nequip`` package's own training stack on the same data.

Data: a fixed set of small organic molecules (20 closed-shell ASE g2 molecules, H/C/N/O, 3-12
atoms), rattled by 0.05 Å into ``--molecules`` conformers. Throughput does not depend on the
label values, so they come from ASE's EMT potential (converted to Hartree) rather than PySCF,
which would take minutes here. Validation set: ``--molecules // 8`` further conformers.

Measured: CPU time of this process over epochs 2..N (epoch 1 is warm-up) divided into the
training molecules seen: molecules per CPU-second of the full epoch loop (training steps +
validation pass; atomloop also writes its checkpoint every epoch). CPU time rather than wall
time because the machines this runs on are shared (load average above the core count makes
wall-clock rates swing tenfold); with ``--threads 1`` (default) the two agree on an idle
machine. On CUDA the figure is host CPU time, so it is only indicative there: ``--clock wall``
(wall seconds, the GPU synchronised at each stamp) is the figure for a machine of one's own, and
the one ``bench/gpu.sh`` reports, CPU and GPU alike.

- ``atomloop``: :func:`atomloop.models.training.train` (neighbour lists built once per molecule).
- ``nequip-train (Hydra CLI)``: the package's own entry point, ``nequip-train -cp DIR -cn bench``,
  in a subprocess of this interpreter, on a config written by :func:`nequip_config`: ``ASEDataModule`` reading an
  extxyz file of the same molecules (energies as calculator results) with
  ``ChemicalSpeciesToAtomTypeMapper`` + ``NeighborListTransform`` (neighbour lists rebuilt on
  every access, nequip's default), ``lightning.Trainer`` (no logger, no checkpointing, no
  progress bar), ``NequIPLightningModule`` with the same ``NequIPGNNModel`` builder call
  (same settings, float32, energies only, same per-type shifts/scale and avg_num_neighbors),
  Adam lr 1e-3, ``EnergyOnlyLoss`` (per-atom energy MSE), same batch size. A callback of this
  file (``bench.train.EpochTimer``) records CPU time inside that process.
- ``nequip Lightning (in-process)``: the same config's objects instantiated in this process
  and ``Trainer.fit`` called directly (what ``nequip-train`` does, minus Hydra).

Ratios = atomloop NequIP throughput / each nequip baseline (target >= 0.9), and on CUDA each
model's GPU / CPU throughput. ``--device auto`` (default) runs on CPU, and on CUDA too when a GPU
is present; ``--device cuda`` requires one (CPU baseline and CUDA in the same run); ``--device cpu``
runs the CPU alone. ``--json PATH`` writes the figures (molecules/s per device and run, ratios).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightning
import numpy as np
import torch
from ase import units
from ase.build import molecule
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from atomloop.models.training import TrainingConfig, average_num_neighbors, new_model, train

NAMES = ("H2O", "NH3", "CH4", "HCN", "H2CO", "C2H2", "C2H4", "CH3OH", "C2H6", "CH3CHO", "CH3CH2OH", "HCOOH",
         "H3CNH2", "CH3CN", "C3H8", "CH2OCH2", "CH3COCH3", "C5H5N", "C6H6", "CH3CONH2")
REPOSITORY = Path(__file__).resolve().parent.parent
MODEL = {"r_max": 4.0, "num_layers": 3, "num_features": 32, "l_max": 1, "dtype": "float32"}
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
# the nequip-train console script's body, run by this interpreter (found without the script on PATH)
NEQUIP_TRAIN = [sys.executable, "-c",
                "import sys; from nequip.scripts.train import main; sys.argv[0] = 'nequip-train'; sys.exit(main())"]


def stamp(clock: str) -> float:
    """Seconds on ``clock`` ('cpu': this process's CPU time, 'wall': wall time), after the GPU's
    queued work has finished when CUDA is in use."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    return CLOCKS[clock]()


def dataset(count: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        atoms = molecule(NAMES[k % len(NAMES)])
        atoms.rattle(0.05, seed=int(rng.integers(1 << 30)))
        atoms.calc = EMT()
        atoms.info["energy"] = atoms.get_potential_energy() / units.Hartree
        atoms.calc = None
        out.append(atoms)
    return out


def atomloop_throughput(arch: str, train_set, valid_set, *, epochs: int, batch_size: int, device: str,
                        clock: str) -> float:
    hyperparameters = {k: v for k, v in MODEL.items() if arch == "nequip" or k != "l_max"}
    model = new_model(arch, train_set, **hyperparameters)
    stamps: list[float] = []
    config = TrainingConfig(epochs=epochs, batch_size=batch_size, learning_rate=1e-3, device=device, progress=False,
                            early_stopping_patience=epochs)
    with tempfile.TemporaryDirectory() as checkpoints:
        train(model, train_set, valid_set, config, checkpoint_dir=Path(checkpoints),
              epoch_callback=lambda record: stamps.append(stamp(clock)))
    return len(train_set) * (len(stamps) - 1) / (stamps[-1] - stamps[0])


class EpochTimer(lightning.Callback):
    """Stamps on ``clock`` (see :func:`stamp`) at the start of epochs 2..N and at the end of
    training, so that every interval holds whole epochs including their validation; written as
    JSON to ``path``."""

    def __init__(self, path: str | None = None, clock: str = "cpu") -> None:
        self.path = path
        self.clock = clock
        self.stamps: list[float] = []

    def on_train_epoch_start(self, trainer, module) -> None:
        if trainer.current_epoch > 0:
            self.stamps.append(stamp(self.clock))

    def on_train_end(self, trainer, module) -> None:
        self.stamps.append(stamp(self.clock))
        if self.path:
            Path(self.path).write_text(json.dumps(self.stamps))


def nequip_model_config(hyper: dict, type_names: list[str], reference) -> dict:
    """nequip's own model config with atomloop's NequIP ``reference`` (a built model) widths,
    neighbour count and per-element energy shifts/scale: the peer trains the same network."""
    return {
        "_target_": "nequip.model.NequIPGNNModel", "seed": 0, "model_dtype": hyper["dtype"],
        "r_max": hyper["r_max"], "type_names": type_names, "num_layers": hyper["num_layers"],
        "l_max": hyper["l_max"], "num_features": hyper["num_features"],
        "avg_num_neighbors": reference.hyperparameters["avg_num_neighbors"],
        "per_type_energy_scales": float(reference.reference.scale),
        "per_type_energy_shifts": dict(zip(type_names, reference.reference.energies.tolist())),
        "do_derivatives": False,
    }


def nequip_config(train_set, valid_set, folder: str, *, epochs: int, batch_size: int, device: str, timer_path: str,
                  clock: str = "cpu") -> dict:
    """The ``nequip-train`` configuration (sections run/data/trainer/training_module/
    global_options) for the same data, model and optimiser as atomloop's run."""
    reference = new_model("nequip", train_set, **MODEL)  # same avg_num_neighbors, shifts and scale
    type_names = reference.type_names
    paths = {}
    for name, atoms_list in (("train", train_set), ("val", valid_set)):
        labelled = []
        for atoms in atoms_list:
            copy = atoms.copy()
            copy.info.clear()  # the energy travels as the calculator's result, nequip's convention
            copy.calc = SinglePointCalculator(copy, energy=atoms.info["energy"])
            labelled.append(copy)
        paths[name] = os.path.join(folder, f"{name}.extxyz")
        write(paths[name], labelled, format="extxyz")
    return {
        "run": ["train"],
        "data": {
            "_target_": "nequip.data.datamodule.ASEDataModule", "seed": 0,
            "train_file_path": paths["train"], "val_file_path": paths["val"],
            "transforms": [
                {"_target_": "nequip.data.transforms.ChemicalSpeciesToAtomTypeMapper", "model_type_names": type_names},
                {"_target_": "nequip.data.transforms.NeighborListTransform", "r_max": MODEL["r_max"]},
            ],
            "train_dataloader": {"_target_": "torch.utils.data.DataLoader", "batch_size": batch_size, "shuffle": True},
            "val_dataloader": {"_target_": "torch.utils.data.DataLoader", "batch_size": batch_size},
        },
        "trainer": {
            "_target_": "lightning.Trainer", "max_epochs": epochs, "accelerator": "gpu" if device == "cuda" else "cpu",
            "devices": 1, "logger": False, "enable_checkpointing": False, "enable_progress_bar": False,
            "enable_model_summary": False, "num_sanity_val_steps": 0, "default_root_dir": folder,
            "callbacks": [{"_target_": "bench.train.EpochTimer", "path": timer_path, "clock": clock}],
        },
        "training_module": {
            "_target_": "nequip.train.NequIPLightningModule",
            "model": nequip_model_config(MODEL, type_names, reference),
            "optimizer": {"_target_": "torch.optim.Adam", "lr": 1e-3},
            "loss": {"_target_": "nequip.train.EnergyOnlyLoss"},
            "val_metrics": {"_target_": "nequip.train.EnergyOnlyMetrics"},
        },
        "global_options": {"allow_tf32": False},
    }


def _rate(count: int, stamps: list[float], epochs: int) -> float:
    assert len(stamps) == epochs, stamps
    return count * (len(stamps) - 1) / (stamps[-1] - stamps[0])


def nequip_lightning_throughput(train_set, valid_set, *, epochs: int, batch_size: int, device: str,
                                clock: str) -> float:
    """The objects of ``nequip_config`` instantiated here, ``Trainer.fit`` in this process."""
    from hydra.utils import get_class, instantiate
    from nequip.utils.global_state import set_global_state

    set_global_state()
    with tempfile.TemporaryDirectory() as folder:
        config = nequip_config(train_set, valid_set, folder, epochs=epochs, batch_size=batch_size, device=device, timer_path="")
        timer = EpochTimer(clock=clock)
        trainer_config = {**config["trainer"], "callbacks": [timer]}
        trainer = instantiate(trainer_config, inference_mode=False)
        data = instantiate(config["data"], _recursive_=False)
        module_config = dict(config["training_module"])
        module_class = get_class(module_config.pop("_target_"))
        module = module_class(**module_config, num_datasets=data.num_datasets)
        trainer.fit(module, datamodule=data)
    return _rate(len(train_set), timer.stamps, epochs)


def nequip_train_throughput(train_set, valid_set, *, epochs: int, batch_size: int, device: str, clock: str,
                            threads: int) -> float:
    """``nequip-train`` itself (Hydra + Lightning) in a subprocess on the same configuration."""
    with tempfile.TemporaryDirectory() as folder:
        timer_path = os.path.join(folder, "stamps.json")
        config = nequip_config(train_set, valid_set, folder, epochs=epochs, batch_size=batch_size, device=device,
                               timer_path=timer_path, clock=clock)
        Path(folder, "bench.yaml").write_text(json.dumps(config))  # JSON is valid YAML
        path = os.pathsep.join(p for p in (str(REPOSITORY), os.environ.get("PYTHONPATH", "")) if p)
        environment = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": path}
        subprocess.run(
            [*NEQUIP_TRAIN, "-cp", folder, "-cn", "bench", f"hydra.run.dir={folder}/out"],
            cwd=folder, env=environment, check=True, capture_output=True,
        )
        return _rate(len(train_set), json.loads(Path(timer_path).read_text()), epochs)


def measure(device: str, train_set, valid_set, args: argparse.Namespace) -> dict[str, list[float]]:
    """Molecules/s of every run on ``device``, ``args.repeats`` runs each, interleaved so that
    machine load affects all alike."""
    common = {"epochs": args.epochs, "batch_size": args.batch_size, "device": device, "clock": args.clock}
    runs: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for name, run in (
            ("atomloop schnet", lambda: atomloop_throughput("schnet", train_set, valid_set, **common)),
            ("atomloop nequip", lambda: atomloop_throughput("nequip", train_set, valid_set, **common)),
            ("nequip Lightning (in-process)", lambda: nequip_lightning_throughput(train_set, valid_set, **common)),
            ("nequip-train (Hydra CLI)", lambda: nequip_train_throughput(train_set, valid_set, threads=args.threads, **common)),
        ):
            runs.setdefault(name, []).append(run())
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--molecules", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2, help="best of this many runs per measurement")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: CPU, and CUDA too when present; cuda: CPU baseline and CUDA (requires a GPU); "
                             "cpu: CPU only")
    parser.add_argument("--clock", choices=tuple(CLOCKS), default="cpu",
                        help="cpu: this process's CPU seconds (shared machines); "
                             "wall: wall seconds (a machine of one's own)")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first is warm-up)")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda was asked for but PyTorch sees no CUDA device")
    torch.set_num_threads(args.threads)

    started = time.perf_counter()
    train_set = dataset(args.molecules, seed=1)
    valid_set = dataset(max(args.molecules // 8, 1), seed=2)
    atoms_per_molecule = np.mean([len(a) for a in train_set])
    print(f"data: {len(train_set)} training + {len(valid_set)} validation molecules, "
          f"{atoms_per_molecule:.1f} atoms/molecule, avg {average_num_neighbors(train_set, MODEL['r_max']):.1f} "
          f"neighbours within {MODEL['r_max']} Å (EMT labels in {time.perf_counter() - started:.1f} s)")
    print(f"model: {MODEL}, batch {args.batch_size}, epochs {args.epochs} (first is warm-up), torch threads "
          f"{torch.get_num_threads()}, clock {args.clock}")

    unit = "molecules/CPU-s" if args.clock == "cpu" else "molecules/s"
    devices = ["cpu"] + (["cuda"] if args.device != "cpu" and torch.cuda.is_available() else [])
    figures: dict = {"molecules": len(train_set), "epochs": args.epochs, "batch_size": args.batch_size,
                     "threads": torch.get_num_threads(), "clock": args.clock, "unit": unit,
                     "gpu": torch.cuda.get_device_name(0) if "cuda" in devices else None,
                     "throughput": {}, "runs": {}, "ratios": {}}
    for device in devices:
        runs = measure(device, train_set, valid_set, args)
        results = {name: max(values) for name, values in runs.items()}
        figures["throughput"][device], figures["runs"][device] = results, runs
        for name, values in runs.items():
            print(f"[{device}] {name:28s} {results[name]:8.1f} {unit} (best of {', '.join(f'{v:.1f}' for v in values)})")
        ratios = {f"atomloop nequip / {baseline}": results["atomloop nequip"] / results[baseline]
                  for baseline in ("nequip-train (Hydra CLI)", "nequip Lightning (in-process)")}
        ratios["atomloop schnet / atomloop nequip"] = results["atomloop schnet"] / results["atomloop nequip"]
        if device == "cuda":
            cpu = figures["throughput"]["cpu"]
            ratios.update({f"{name} cuda / cpu": results[name] / cpu[name]
                           for name in ("atomloop schnet", "atomloop nequip")})
        figures["ratios"][device] = ratios
        for name, ratio in ratios.items():
            target = " (target >= 0.9)" if "/ nequip" in name else ""
            print(f"[{device}] ratio {name}: {ratio:.2f}{target}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
