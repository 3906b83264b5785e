"""Does every model in the zoo train out of the box? The default recipe, one budget, every model.

Trains each registered model with the default (``fast``) recipe on Fashion-MNIST for the same
number of training images (20,000 by default, batch 64: one pass over a seeded subset), at the
input size the trainer picks for it, then evaluates it on the 10,000 held-out test images.
Writes ``benchmarks/RESULTS-zoo.md``: model, input size, parameters, multiply-adds, images/s,
training loss at the start and the end (first and last window of steps), test accuracy, wall
time and whether it learned (test accuracy >= 0.75, not diverged).

Resumable: each finished model is recorded in ``benchmarks/zoo_trainability.json`` (committed)
as soon as it finishes, and a model interrupted mid-run resumes from its last checkpoint in
``--runs``. A recorded model is trained again only if the recipe now resolves to another
config for it, or if its run had the machine for less than ``MIN_CPU_SHARE`` of the time
(another job slowed it: its images/s would be wrong; a smaller slow-down is marked in the
table).

    .venv/bin/python benchmarks/zoo_trainability.py                # every model, ~1 hour
    .venv/bin/python benchmarks/zoo_trainability.py --models 'vgg*' lenet5
    .venv/bin/python benchmarks/zoo_trainability.py --report-only  # rewrite the table
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import time
from pathlib import Path

import torch

import cnnzoo
from cnnzoo.bench import cpu_name
from cnnzoo.cost import complexity
from cnnzoo.train import Trainer, recipe_config
from cnnzoo.train.recipes import auto_input_size, network_traits

HERE = Path(__file__).resolve().parent
TARGET = 0.75
#: a record made while the machine was shared (its CPU time under this share of wall time x
#: threads: an idle machine gives 0.97-0.99) understates the model's speed: it is trained again
#: (accuracy is deterministic, only the timing changes); between this and ``IDLE_CPU_SHARE`` it
#: is kept, and the table marks its timings as taken on a shared machine
MIN_CPU_SHARE = 0.85
IDLE_CPU_SHARE = 0.95

# Why a model misses the target, where we know; shown in the table next to its number.
NOTES: dict[str, str] = {
    "nin": "the book's NiN ends in a ReLU before its global average pooling, so a class's logit "
    "is never negative and dies once pushed below zero for every image: on this budget several "
    "classes die (per-class test accuracy 0; 0.33-0.44 in all, under SGD and AdamW at several "
    "rates, in the experiments behind the recipe); the book trains it 10 epochs at 224x224",
    "plain44": "He et al.'s degradation: without shortcuts, the deeper the plain network the worse "
    "it trains on the same budget - plain-20 0.797, plain-32 0.771, plain-44 0.729 (final "
    "training loss 0.92, 0.97, 1.11), where ResNet-20/32/44 reach 0.820, 0.822, 0.823; the "
    "claims lab measures it (`cnnzoo claims run resnet-degradation`)",
    "plain56": "He et al.'s degradation again: plain-56 0.701 (final training loss 1.24) where "
    "ResNet-56, the same network with shortcuts, reaches 0.821 (loss 0.90) on the same budget",
    "plain110": "He et al.'s degradation at its extreme: 110 layers without shortcuts do not "
    "learn at all on this budget (training loss 2.33 -> 2.28, chance 2.30; stopped as stuck at "
    "chance, so `diverged`), where ResNet-110, the same network with shortcuts, reaches 0.794 "
    "(loss 0.95); He et al. even start ResNet-110 at a tenth of the rate until it learns",
}


def same_config(saved: dict, config) -> bool:
    """Whether a recorded config is ``config``: settings added to TrainConfig since it was
    recorded count as equal when they hold their default (the run did not use them)."""
    from dataclasses import MISSING, fields

    from cnnzoo.train import TrainConfig

    defaults = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
    new = {k: v for k, v in config.to_dict().items() if k in saved or defaults.get(k, MISSING) != v}
    return saved == new


def budget_config(model: str, images: int, batch: int, seed: int, overrides: dict):
    return recipe_config(
        "fast", model, batch_size=batch, epochs=1, train_subset=images, val_size=0,
        checkpoint_every=60.0, seed=seed, **overrides,
    )  # fmt: skip


def load_record(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise SystemExit(f"{path} is not valid JSON ({e}); fix or delete it") from e


def save_record(path: Path, record: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
    os.replace(tmp, path)


def run_model(model: str, config, runs: Path, fresh: bool = False) -> dict:
    """Train ``model``, resuming its unfinished run of this very config unless ``fresh`` (the
    network's shape changed since: its checkpoints are of another network)."""
    out = runs / model
    resume = not fresh and (out / "checkpoints" / "last.json").exists()
    if resume:  # only the run of this very config is resumed
        saved = json.loads((out / "config.json").read_text())
        resume = same_config(saved, config)
    if out.exists() and not resume:
        shutil.rmtree(out)
    t0, cpu0 = time.perf_counter(), cpu_seconds()
    trainer = Trainer(config, out, resume=resume, quiet=True, store=runs / "runs.sqlite",
                      plots=False)  # fmt: skip
    result = trainer.fit()
    size = trainer.input_size
    cx = complexity(model, size, num_classes=trainer.num_classes)
    curve = result["train_loss_curve"]
    return {
        "config": config.to_dict(),
        "input": list(size),
        "params": cx.params,
        "mult_adds": cx.flops,
        "images_per_s": result["images_per_s"],
        "loss_start": curve[0][1] if curve else None,
        "loss_end": curve[-1][1] if curve else None,
        "chance_loss": result["chance_loss"],
        "test_acc": result["test_acc"],
        "status": result["status"],
        "diagnosis": result["diagnosis"],
        "train_time": result["wall_time"],
        "wall_time": (wall := time.perf_counter() - t0),  # this process's, evaluation included
        # CPU time / (wall time x threads): well under 1 means the machine was shared or the run
        # paused, so its timings understate the model's speed and it should be run again
        "cpu_share": (cpu_seconds() - cpu0) / (wall * torch.get_num_threads()),
        "resumed": resume,
        "threads": torch.get_num_threads(),
        "machine": cpu_name(),
        "precision": result["precision"],
        "channels_last": trainer.channels_last,
    }


def cpu_seconds() -> float:
    """User + system CPU time of this process, all threads."""
    t = os.times()
    return t.user + t.system


def verdict(r: dict) -> str:
    if r["status"] != "finished":
        return f"no: {r['status']}"
    return "yes" if r["test_acc"] >= TARGET else f"no: {r['test_acc']:.3f} < {TARGET}"


def write_report(record: dict, path: Path, images: int, batch: int) -> None:
    rows = sorted(record.items())
    missing = [n for n in cnnzoo.list_models() if n not in record]
    learned = sum(verdict(r) == "yes" for _, r in rows)
    total_time = sum(r["wall_time"] for _, r in rows)
    lines = [
        "# Every model in the zoo, trained with the default recipe",
        "",
        "Command: `.venv/bin/python benchmarks/zoo_trainability.py` "
        "(record: `benchmarks/zoo_trainability.json`).",
        "",
        f"Each model is trained with the default `fast` recipe on Fashion-MNIST for "
        f"{images:,} training images (one pass over a seeded subset, batch {batch}; the "
        f"recipe's learning rate scaled linearly from its batch size), at the input size the "
        f"trainer picks for it, and tested on the 10,000 test images. Loss start/end: the mean "
        f"training loss of the first and the last window of steps (chance: ln 10 = 2.303). "
        f"Learned: test accuracy >= {TARGET} and not diverged. Img/s and wall time marked "
        f"with † come from a run whose CPU time was {MIN_CPU_SHARE:.0%}-{IDLE_CPU_SHARE:.0%} "
        f"of its wall time x threads (below {MIN_CPU_SHARE:.0%} a model is trained again): "
        f"either another job shared the machine for a while (test runs, during the "
        f"VGGs) or the run has long single-threaded stretches (the loader resizing to "
        f"224x224): they may understate the model's speed by up to that much. Those marked "
        f"‡ ran in the NCHW layout, the trainer's fp32 default "
        f"when they were recorded; the rest in channels_last, its CPU default since (1.2-1.35x "
        f"faster training steps on an AVX2 CPU, benchmarks/RESULTS.md).",
        "",
        f"**{learned} of {len(rows)} models learned**; total wall time {total_time / 60:.0f} "
        f"min on {rows[0][1]['threads'] if rows else '?'} threads "
        f"({cpu_name()}, {rows[-1][1].get('precision', 'fp32') if rows else '?'}; the "
        f"wall time covers training and the test evaluation).",
        "",
    ]
    if missing:
        lines += [
            f"**In progress: {len(missing)} of {len(rows) + len(missing)} models not trained "
            f"yet** ({', '.join(missing)}); the same command continues where it stopped.",
            "",
        ]
    lines += [
        "| model | input | params | mult-adds | img/s | loss start | loss end | test acc "
        "| wall time | learned |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in rows:
        note = NOTES.get(name, r.get("diagnosis") or "")
        c, h, w = r["input"]
        shared = "†" if r.get("cpu_share", 1.0) < IDLE_CPU_SHARE else ""
        shared += "" if r.get("channels_last", r.get("precision") != "fp32") else "‡"
        lines.append(
            f"| {name} | {c}x{h}x{w} | {r['params'] / 1e6:.2f}M | {r['mult_adds'] / 1e6:,.1f}M "
            f"| {r['images_per_s']:,.0f}{shared} | {r['loss_start']:.3f} | {r['loss_end']:.3f} "
            f"| {r['test_acc']:.4f} | {r['wall_time']:.0f} s{shared} | {verdict(r)}"
            + (f" ({note})" if note and verdict(r) != "yes" else "")
            + " |"
        )
    lines.append("")
    path.write_text("\n".join(lines))


def wait_while(path: Path | None) -> None:
    """Block while ``path`` is a file or a non-empty folder (checked every 2 s). While it
    waits, ``PATH.waiting`` exists: other work may then use the machine without slowing a
    timed model."""

    def held() -> bool:
        return path is not None and (path.is_file() or (path.is_dir() and any(path.iterdir())))

    if not held():
        return
    marker = path.with_name(path.name + ".waiting")
    print(f"waiting: {path} is held; empty or remove it to go on", flush=True)
    marker.touch()
    try:
        while held():
            time.sleep(2)
    finally:
        marker.unlink(missing_ok=True)
    print("going on", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="*", default=["*"], help="names or wildcards")
    ap.add_argument("--images", type=int, default=20_000, help="training images per model")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--record", type=Path, default=HERE / "zoo_trainability.json")
    ap.add_argument("--report", type=Path, default=HERE / "RESULTS-zoo.md")
    ap.add_argument("--runs", type=Path, default=Path("runs/zoo"), help="run directories")
    ap.add_argument("--report-only", action="store_true", help="rewrite the table and exit")
    ap.add_argument(
        "--wait-while", type=Path, metavar="PATH",
        help="before each model, wait while PATH is a file or a non-empty folder (PATH.waiting "
        "exists meanwhile): other work can use the machine between models without slowing a "
        "timed one",
    )  # fmt: skip
    ap.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE",
        help="override recipe settings for every model (JSON values), e.g. --set lr=0.01; "
        "use another --record and --report for such experiments",
    )  # fmt: skip
    args = ap.parse_args()
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value

    record = load_record(args.record)
    names = [n for n in cnnzoo.list_models() if any(fnmatch.fnmatch(n, p) for p in args.models)]
    if not names:
        raise SystemExit(f"no registered model matches {args.models}")
    # cheapest first, so that an interrupted run has recorded as many models as it could
    sizes = {n: auto_input_size(network_traits(n), 28) for n in names}
    cxs = {n: complexity(n, (1, sizes[n], sizes[n]), num_classes=10) for n in names}
    cost = {n: c.flops for n, c in cxs.items()}
    names.sort(key=cost.__getitem__)
    if not args.report_only:
        for i, name in enumerate(names, 1):
            config = budget_config(name, args.images, args.batch_size, args.seed, overrides)
            done = record.get(name)
            if (
                done is not None
                and same_config(done["config"], config)
                and done.get("params") == cxs[name].params  # not a network whose shape changed
                and done.get("cpu_share", 1.0) >= MIN_CPU_SHARE  # (older records lack it)
            ):
                continue
            wait_while(args.wait_while)
            size = sizes[name]
            print(
                f"[{i}/{len(names)}] {name} at {size}x{size}, {cost[name] / 1e6:,.0f}M "
                f"multiply-adds per image ...",
                flush=True,
            )
            reshaped = done is not None and done.get("params") != cxs[name].params
            r = run_model(name, config, args.runs, fresh=reshaped)
            print(
                f"    test acc {r['test_acc']:.4f}  loss {r['loss_start']:.3f} -> "
                f"{r['loss_end']:.3f}  {r['images_per_s']:,.0f} img/s  {r['wall_time']:.0f} s  "
                f"cpu share {r['cpu_share']:.2f}  {verdict(r)}",
                flush=True,
            )
            record = load_record(args.record)  # another invocation may have added models
            record[name] = r
            save_record(args.record, record)
            write_report(record, args.report, args.images, args.batch_size)
    write_report(record, args.report, args.images, args.batch_size)
    print(f"table: {args.report}")


if __name__ == "__main__":
    main()
