"""Accuracy and training throughput of atomloop's SchNet and NequIP against peer implementations
(``schnetpack`` 2.1.1's SchNet, the ``nequip`` package's own Lightning training) on QM9 U0.

Command: ``.venv/bin/python bench/accuracy.py [--quick] [--train N --valid N --test N --epochs N]
[--learning-curve] [--skip schnetpack,nequip]`` (schnetpack: ``make bench-deps``).

Data: QM9 from the installed ``qm9pack`` data files through atomloop's own reader
(:func:`atomloop.ingest.qm9.qm9_rows` / :meth:`QM9Row.atoms`, energies U0 in eV, converted back to
Hartree). A seeded permutation (``--seed``, default 0) of all 130,831 molecules gives the test set
(first ``--test``), the validation set (next ``--valid``) and the training set (next ``--train``;
learning-curve sets are nested prefixes of the training pool). Test molecules holding an element
absent from the training set are dropped (reported).

Energies: one per-element least-squares reference fit on the training set
(:func:`atomloop.models.reference.fit_reference_energies`) for every implementation. atomloop's
models fit it themselves (``new_model``, same function, same numbers); nequip gets the same values
as ``per_type_energy_shifts`` and the same ``per_type_energy_scales`` (atomloop's scale s);
schnetpack is trained on the residual energies E - sum_Z n_Z e_Z in kcal/mol (O(1) per atom, so
no further standardisation). MAEs are on total energies, kcal/mol (atomloop's
``HARTREE_TO_KCAL_PER_MOL``).

Training, the same for all: Adam, ``--lr`` (constant: atomloop's plateau schedule is given a
patience of the whole budget and the peers get no scheduler), ``--batch-size``, ``--epochs``
epochs, every epoch validated, the best validation-MAE epoch's weights kept (atomloop: its early
stopping with patience = epochs; peers: :class:`KeepBest`); per-molecule MSE loss for
schnetpack (its default), per-atom-energy MSE for nequip (``EnergyOnlyLoss``), atomloop's
normalised per-atom MSE. Same seed 0 for initialisation where the library takes one.

- atomloop SchNet / NequIP: :func:`atomloop.models.training.new_model` + :func:`train`
  (no database, no checkpoint directory).
- schnetpack SchNet: ``schnetpack.representation.SchNet`` (GaussianRBF, CosineCutoff, same
  width, interactions, cutoff, radial basis size) + ``Atomwise`` in a ``NeuralNetworkPotential``,
  trained by ``schnetpack.task.AtomisticTask`` with a ``pytorch_lightning.Trainer`` on
  ``ASEAtomsData`` databases (``MatScipyNeighborList``, rebuilt on every access as schnetpack
  does). schnetpack 2.1.1 imports ``T_co`` from ``torch.utils.data.dataloader``, which torch 2.13
  no longer has: this script defines it before importing schnetpack (a shim, nothing else changed).
- nequip NequIP: ``NequIPGNNModel`` (same settings as atomloop's) in ``NequIPLightningModule``
  with ``ASEDataModule`` (extxyz files), ``lightning.Trainer`` in this process (what
  ``nequip-train`` runs, minus Hydra; bench/train.py times the CLI itself).

SchNet, atomloop vs schnetpack, what still differs (each tested at ``--quick`` sizes over paired seeds,
none a measurable accuracy difference; README "Accuracy against peers"): schnetpack's ``Atomwise``
head has SiLU in its hidden layer where atomloop keeps the paper's shifted softplus; schnetpack
outputs kcal/mol directly where atomloop multiplies by its per-atom scale s (about 6 kcal/mol on
QM9); schnetpack's loss is the per-molecule MSE where atomloop's divides each error by n_m s.
Layers, radial basis, cosine cutoff, residual updates, neighbour lists and, since the accuracy fix,
Xavier-uniform weights with zero biases are the same (a forward pass with copied weights agrees to
1e-6 kcal/mol). One run draws one initialisation: at ``--quick`` sizes the test MAE of either
implementation varies by about 1-2 kcal/mol between initialisation seeds, so a single ratio near
1 does not separate them.

Throughput: training molecules per CPU-second of this process over epochs 2..N (epoch 1 is
warm-up; each epoch includes its validation pass), as bench/train.py measures it; torch threads
``--threads`` (default 1). Ratios: MAE atomloop/peer (target <= 1.0), throughput atomloop/peer
(target >= 1.0).
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import tempfile
import time
import typing
import warnings

import numpy as np
import torch
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.data import chemical_symbols
from ase.io import write
from ase.units import Hartree
from train import nequip_model_config  # bench/train.py, beside this script

from atomloop.ingest.qm9 import MOLECULES, qm9_rows
from atomloop.models.evaluate import HARTREE_TO_KCAL_PER_MOL, predict
from atomloop.models.reference import composition_matrix, fit_reference_energies
from atomloop.models.training import TrainingConfig, new_model, train

SCHNET = {"r_max": 5.0, "num_layers": 3, "num_features": 64, "num_rbf": 20, "dtype": "float32"}
NEQUIP = {"r_max": 5.0, "num_layers": 2, "num_features": 16, "l_max": 1, "dtype": "float32"}
CURVE_SIZES = (250, 500, 1000, 2000)


# --------------------------------------------------------------------------- data

def qm9_split(n_train: int, n_valid: int, n_test: int, seed: int) -> tuple[list[Atoms], list[Atoms], list[Atoms]]:
    """Seeded split of QM9 read by atomloop's reader; ``info['energy']`` in Hartree."""
    order = np.random.default_rng(seed).permutation(MOLECULES)
    wanted = {int(i): k for k, i in enumerate(order[: n_test + n_valid + n_train])}
    picked: dict[int, Atoms] = {}
    for position, row in enumerate(qm9_rows()):
        if position in wanted:
            atoms = row.atoms()
            atoms.info["energy"] = atoms.info["energy"] / Hartree  # the reader gives eV; models train on Hartree
            picked[wanted[position]] = atoms
    ordered = [picked[k] for k in range(len(picked))]
    return ordered[n_test + n_valid:], ordered[n_test:n_test + n_valid], ordered[:n_test]


def type_names_of(atoms_list) -> list[str]:
    return sorted({s for a in atoms_list for s in a.get_chemical_symbols()}, key=chemical_symbols.index)


def mae_kcal(predicted_hartree, atoms_list) -> float:
    reference = np.array([a.info["energy"] for a in atoms_list])
    return float(np.mean(np.abs(np.asarray(predicted_hartree) - reference)) * HARTREE_TO_KCAL_PER_MOL)


def rate(count: int, stamps: list[float]) -> float:
    """Molecules per CPU-second over epochs 2..N from CPU-time stamps at epoch boundaries."""
    if len(stamps) < 2:
        return float("nan")
    return count * (len(stamps) - 1) / (stamps[-1] - stamps[0])


# --------------------------------------------------------------------------- atomloop

def run_atomloop(arch: str, hp: dict, train_set, valid_set, test_set, args) -> dict:
    model = new_model(arch, train_set, **hp)
    stamps = [time.process_time()]
    config = TrainingConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr, device="cpu",
                            progress=False, early_stopping_patience=args.epochs, lr_patience=args.epochs)
    started = time.perf_counter()
    result = train(model, train_set, valid_set, config,
                   epoch_callback=lambda record: stamps.append(time.process_time()))
    wall = time.perf_counter() - started
    predictions = predict(result.model, test_set, batch_size=args.batch_size)
    return {"mae": mae_kcal([p.energy for p in predictions], test_set), "rate": rate(len(train_set), stamps[1:]),
            "wall": wall, "best_epoch": result.best_epoch}


# --------------------------------------------------------------------------- peers' shared callback

def keep_best_callback(base, metric_substring: str):
    """A Lightning callback (of the ``base`` Callback class: ``lightning`` or ``pytorch_lightning``)
    that stamps CPU time at epoch boundaries and keeps the weights of the epoch with the lowest
    validation metric whose logged name contains ``metric_substring``."""

    class KeepBest(base):
        def __init__(self) -> None:
            self.stamps: list[float] = []
            self.best = float("inf")
            self.best_state = None
            self.best_epoch = 0
            self.metric = None

        def on_train_epoch_start(self, trainer, module) -> None:
            if trainer.current_epoch > 0:
                self.stamps.append(time.process_time())

        def on_validation_epoch_end(self, trainer, module) -> None:
            if trainer.sanity_checking:
                return
            names = [k for k in trainer.callback_metrics if metric_substring in k and "val" in k]
            if not names:
                return
            self.metric = sorted(names, key=len)[0]
            value = float(trainer.callback_metrics[self.metric])
            if value < self.best:
                self.best, self.best_epoch = value, trainer.current_epoch + 1
                self.best_state = copy.deepcopy(module.state_dict())

        def on_train_end(self, trainer, module) -> None:
            self.stamps.append(time.process_time())

    return KeepBest()


# --------------------------------------------------------------------------- schnetpack

def import_schnetpack():
    import torch.utils.data.dataloader as dataloader

    if not hasattr(dataloader, "T_co"):  # removed in newer torch; schnetpack 2.1.1 imports it
        dataloader.T_co = typing.TypeVar("T_co", covariant=True)
    import schnetpack

    return schnetpack


def run_schnetpack(train_set, valid_set, test_set, type_names, fit, args) -> dict:
    spk = import_schnetpack()
    import pytorch_lightning
    import schnetpack.transform as trn
    import torchmetrics

    references = np.asarray(fit.energies)
    hp = SCHNET
    with tempfile.TemporaryDirectory() as folder:
        loaders = {}
        for name, atoms_list in (("train", train_set), ("valid", valid_set), ("test", test_set)):
            residual = (np.array([a.info["energy"] for a in atoms_list])
                        - composition_matrix(atoms_list, type_names) @ references) * HARTREE_TO_KCAL_PER_MOL
            data = spk.data.ASEAtomsData.create(os.path.join(folder, f"{name}.db"), distance_unit="Ang",
                                                property_unit_dict={"energy": "kcal/mol"})
            data.add_systems([{"energy": np.array([e])} for e in residual],
                             [Atoms(a.numbers, a.positions) for a in atoms_list])
            data.transforms = [trn.MatScipyNeighborList(cutoff=hp["r_max"]), trn.CastTo32()]
            loaders[name] = spk.data.AtomsLoader(data, batch_size=args.batch_size, shuffle=name == "train",
                                                 num_workers=0)

        torch.manual_seed(0)
        radial = spk.nn.GaussianRBF(n_rbf=hp["num_rbf"], cutoff=hp["r_max"])
        representation = spk.representation.SchNet(
            n_atom_basis=hp["num_features"], n_interactions=hp["num_layers"], radial_basis=radial,
            cutoff_fn=spk.nn.CosineCutoff(hp["r_max"]),
        )
        model = spk.model.NeuralNetworkPotential(
            representation=representation, input_modules=[spk.atomistic.PairwiseDistances()],
            output_modules=[spk.atomistic.Atomwise(n_in=hp["num_features"], output_key="energy")],
            postprocessors=[trn.CastTo64()],
        )
        output = spk.task.ModelOutput(name="energy", loss_fn=torch.nn.MSELoss(), loss_weight=1.0,
                                      metrics={"MAE": torchmetrics.MeanAbsoluteError()})
        task = spk.task.AtomisticTask(model=model, outputs=[output], optimizer_cls=torch.optim.Adam,
                                      optimizer_args={"lr": args.lr})
        quiet()
        keeper = keep_best_callback(pytorch_lightning.Callback, "energy_MAE")
        trainer = pytorch_lightning.Trainer(
            max_epochs=args.epochs, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
            callbacks=[keeper], default_root_dir=folder,
        )
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer.fit(task, train_dataloaders=loaders["train"], val_dataloaders=loaders["valid"])
        wall = time.perf_counter() - started
        if keeper.best_state is not None:
            task.load_state_dict(keeper.best_state)
        task.eval()
        errors = []
        with torch.no_grad():
            for batch in loaders["test"]:
                target = batch["energy"].double()
                errors.append((task.model(batch)["energy"].double() - target).abs())
        mae = float(torch.cat(errors).mean())  # residuals in kcal/mol: same error as the total energy's
    return {"mae": mae, "rate": rate(len(train_set), keeper.stamps), "wall": wall, "best_epoch": keeper.best_epoch}


# --------------------------------------------------------------------------- nequip

def run_nequip(train_set, valid_set, test_set, args) -> dict:
    import lightning
    from hydra.utils import instantiate
    from nequip.data import AtomicDataDict, from_ase
    from nequip.data.transforms import ChemicalSpeciesToAtomTypeMapper, NeighborListTransform
    from nequip.train import NequIPLightningModule
    from nequip.utils.global_state import set_global_state

    set_global_state()
    quiet()
    reference = new_model("nequip", train_set, **NEQUIP)  # same type names, references, scale, avg_num_neighbors
    type_names = reference.type_names
    with tempfile.TemporaryDirectory() as folder:
        paths = {}
        for name, atoms_list in (("train", train_set), ("val", valid_set)):
            labelled = []
            for atoms in atoms_list:
                plain = Atoms(atoms.numbers, atoms.positions)
                plain.calc = SinglePointCalculator(plain, energy=atoms.info["energy"])
                labelled.append(plain)
            paths[name] = os.path.join(folder, f"{name}.extxyz")
            write(paths[name], labelled, format="extxyz")
        data_config = {
            "_target_": "nequip.data.datamodule.ASEDataModule", "seed": 0,
            "train_file_path": paths["train"], "val_file_path": paths["val"],
            "transforms": [
                {"_target_": "nequip.data.transforms.ChemicalSpeciesToAtomTypeMapper", "model_type_names": type_names},
                {"_target_": "nequip.data.transforms.NeighborListTransform", "r_max": NEQUIP["r_max"]},
            ],
            "train_dataloader": {"_target_": "torch.utils.data.DataLoader", "batch_size": args.batch_size,
                                 "shuffle": True},
            "val_dataloader": {"_target_": "torch.utils.data.DataLoader", "batch_size": args.batch_size},
        }
        model_config = nequip_model_config(NEQUIP, type_names, reference)
        data = instantiate(data_config, _recursive_=False)
        module = NequIPLightningModule(
            model=model_config, optimizer={"_target_": "torch.optim.Adam", "lr": args.lr},
            loss={"_target_": "nequip.train.EnergyOnlyLoss"},
            val_metrics={"_target_": "nequip.train.EnergyOnlyMetrics"},
            num_datasets=data.num_datasets,
        )
        keeper = keep_best_callback(lightning.Callback, "total_energy_mae")
        trainer = lightning.Trainer(
            max_epochs=args.epochs, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
            enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
            callbacks=[keeper], default_root_dir=folder, inference_mode=False,
        )
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer.fit(module, datamodule=data)
        wall = time.perf_counter() - started
        if keeper.best_state is not None:
            module.load_state_dict(keeper.best_state)
        model = module.eval()  # its forward runs the sole GraphModel
        transforms = [ChemicalSpeciesToAtomTypeMapper(model_type_names=type_names),
                      NeighborListTransform(r_max=NEQUIP["r_max"])]
        predicted = []
        for start in range(0, len(test_set), args.batch_size):
            graphs = []
            for atoms in test_set[start:start + args.batch_size]:
                graph = from_ase(Atoms(atoms.numbers, atoms.positions))
                for transform in transforms:
                    graph = transform(graph)
                graphs.append(graph)
            batch = AtomicDataDict.batched_from_list(graphs)
            with torch.no_grad():
                out = model(batch)
            predicted.extend(out[AtomicDataDict.TOTAL_ENERGY_KEY].detach().reshape(-1).double().tolist())
    return {"mae": mae_kcal(predicted, test_set), "rate": rate(len(train_set), keeper.stamps), "wall": wall,
            "best_epoch": keeper.best_epoch, "metric": keeper.metric}


# --------------------------------------------------------------------------- main

def quiet() -> None:
    """Lightning's and nequip's INFO lines off (the tables are the output)."""
    for name in ("lightning", "lightning.pytorch", "lightning.pytorch.utilities.rank_zero", "pytorch_lightning",
                 "pytorch_lightning.utilities.rank_zero", "nequip"):
        logging.getLogger(name).setLevel(logging.WARNING)


def safe(run, what: str) -> tuple[dict | None, str | None]:
    try:
        return run(), None
    except Exception as error:  # a peer that cannot run is reported, the rest still benched
        return None, f"{what} failed: {type(error).__name__}: {error}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--valid", type=int, default=200)
    parser.add_argument("--test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0, help="seed of the QM9 split")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--quick", action="store_true", help="200/50/200 molecules, 20 epochs (a few minutes)")
    parser.add_argument("--learning-curve", action="store_true",
                        help=f"atomloop SchNet at {CURVE_SIZES} training molecules")
    parser.add_argument("--skip", default="", help="comma-separated: schnetpack, nequip")
    args = parser.parse_args()
    if args.quick:
        args.train, args.valid, args.test, args.epochs = 200, 50, 200, 20
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    torch.set_num_threads(args.threads)

    started = time.perf_counter()
    pool = max(args.train, max(CURVE_SIZES) if args.learning_curve else 0)
    train_pool, valid_set, test_set = qm9_split(pool, args.valid, args.test, args.seed)
    train_set = train_pool[: args.train]
    known = set(type_names_of(train_set))
    kept = [a for a in test_set if set(a.get_chemical_symbols()) <= known]
    dropped = len(test_set) - len(kept)
    test_set = kept
    valid_set = [a for a in valid_set if set(a.get_chemical_symbols()) <= known]
    type_names = type_names_of(train_set)
    fit = fit_reference_energies(train_set, type_names)
    print(f"data: QM9 U0 via atomloop.ingest.qm9, seed {args.seed}: {len(train_set)} train / {len(valid_set)} valid / "
          f"{len(test_set)} test molecules ({dropped} test molecules with elements absent from training dropped), "
          f"{np.mean([len(a) for a in train_set]):.1f} atoms/molecule, elements {type_names} "
          f"(read in {time.perf_counter() - started:.1f} s)")
    print(f"reference fit on training set: residual RMS per atom {fit.scale * HARTREE_TO_KCAL_PER_MOL:.3f} kcal/mol; "
          f"test MAE of the reference fit alone "
          f"{mae_kcal(composition_matrix(test_set, type_names) @ np.asarray(fit.energies), test_set):.2f} kcal/mol")
    print(f"training: Adam lr {args.lr} (constant), batch {args.batch_size}, {args.epochs} epochs, "
          "best validation epoch kept, "
          f"torch threads {torch.get_num_threads()}")
    print(f"SchNet: {SCHNET}; NequIP: {NEQUIP}")
    print(f"command: .venv/bin/python bench/accuracy.py --train {args.train} --valid {args.valid} --test {args.test} "
          f"--epochs {args.epochs} --batch-size {args.batch_size} --lr {args.lr}"
          + (" --learning-curve" if args.learning_curve else "") + (f" --skip {args.skip}" if args.skip else ""))

    schnet_hp = dict(SCHNET)
    rows = []
    notes = []
    atomloop_schnet = run_atomloop("schnet", schnet_hp, train_set, valid_set, test_set, args)
    peer, note = (None, "schnetpack skipped (--skip)") if "schnetpack" in skip else safe(
        lambda: run_schnetpack(train_set, valid_set, test_set, type_names, fit, args), "schnetpack SchNet")
    rows.append(("SchNet", "schnetpack 2.1.1", atomloop_schnet, peer))
    if note:
        notes.append(note)
    atomloop_nequip = run_atomloop("nequip", NEQUIP, train_set, valid_set, test_set, args)
    peer, note = (None, "nequip skipped (--skip)") if "nequip" in skip else safe(
        lambda: run_nequip(train_set, valid_set, test_set, args), "nequip NequIP")
    rows.append(("NequIP", "nequip 0.19.1 Lightning", atomloop_nequip, peer))
    if peer is not None:
        notes.append(f"nequip: best epoch chosen on its logged metric {peer['metric']!r}")
    if note:
        notes.append(note)

    print()
    header = (f"{'model':7s} {'peer':24s} {'MAE atomloop':>12s} {'MAE peer':>9s} {'ratio':>6s} "
              f"{'mol/CPU-s atomloop':>18s} {'peer':>7s} {'ratio':>6s} {'best ep a/p':>11s} {'wall s a/p':>11s}")
    print(header)
    print("-" * len(header))
    for model, peer_name, ours, theirs in rows:
        if theirs is None:
            print(f"{model:7s} {peer_name:24s} {ours['mae']:12.2f} {'n/a':>9s} {'n/a':>6s} {ours['rate']:18.1f} "
                  f"{'n/a':>7s} {'n/a':>6s} {ours['best_epoch']:>5d}/{'-':<5s} {ours['wall']:>5.0f}/{'-':<5s}")
            continue
        print(f"{model:7s} {peer_name:24s} {ours['mae']:12.2f} {theirs['mae']:9.2f} {ours['mae'] / theirs['mae']:6.2f} "
              f"{ours['rate']:18.1f} {theirs['rate']:7.1f} {ours['rate'] / theirs['rate']:6.2f} "
              f"{ours['best_epoch']:>5d}/{theirs['best_epoch']:<5d} {ours['wall']:>5.0f}/{theirs['wall']:<5.0f}")
    print("MAE: test, total energy, kcal/mol (target ratio atomloop/peer <= 1.0); "
          "throughput: training molecules per CPU-second, epochs 2..N (target ratio >= 1.0)")
    for note in notes:
        print(f"NOTE: {note}")

    if args.learning_curve:
        print()
        print(f"learning curve, atomloop SchNet ({args.epochs} epochs, same validation/test sets):")
        print(f"{'train molecules':>15s} {'test MAE kcal/mol':>18s} {'mol/CPU-s':>10s}")
        for size in CURVE_SIZES:
            subset = train_pool[:size]
            elements = set(type_names_of(subset))
            test_here = [a for a in test_set if set(a.get_chemical_symbols()) <= elements]
            valid_here = [a for a in valid_set if set(a.get_chemical_symbols()) <= elements]
            result = run_atomloop("schnet", schnet_hp, subset, valid_here, test_here, args)
            lost = len(test_set) - len(test_here)
            print(f"{size:15d} {result['mae']:18.2f} {result['rate']:10.1f}"
                  + (f"  ({lost} test molecules dropped: unseen elements)" if lost else ""))
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
