"""Sweeps: sample a design space, train every sample briefly, record it all; resumable.

A sweep lives in one directory: ``sweep.sqlite`` (the settings, the trials and the trainer's
runs), ``trials/<idx>/`` (each trial's metrics and config), ``sweep.json`` (the settings,
readable). Running the same command on the same directory again resumes it: the trials that
finished (done or failed) are kept, the ones that were running when it was killed are rerun
from scratch, nothing is counted twice. A lock file keeps two sweep processes off the same
directory.

The budget of each trial is the paper's "partial metric": a few epochs, here on a seeded subset
of the training set (``train_subset``), with the same recipe for every network.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from cnnzoo.designspace.executors import Executor, make_executor
from cnnzoo.designspace.sampling import SampleStats, format_count, parse_window, sample_configs
from cnnzoo.designspace.spaces import Ranges, get_space
from cnnzoo.designspace.store import SweepStore
from cnnzoo.errors import ConfigError, MissingError
from cnnzoo.locking import directory_lock

__all__ = [
    "SWEEP_TRAIN_DEFAULTS",
    "SweepSpec",
    "SweepSummary",
    "config_text",
    "run_sweep",
    "sweep_store",
    "trial_config",
]

STORE_NAME = "sweep.sqlite"

#: The short training recipe of every trial (any TrainConfig field; ``--train-opt`` overrides):
#: SGD with Nesterov momentum, a cosine schedule with a short warm-up, the paper's weight decay
#: (5e-5), no augmentation and no label smoothing (a short budget has no time for either),
#: mid-epoch checkpoints off (a trial is rerun whole). Every network starts with the last batch
#: norm of each residual branch at zero (pycls's ``BN.ZERO_INIT_FINAL_GAMMA``), so that deep
#: random networks start as near-identities and do not blow up in the first steps.
SWEEP_TRAIN_DEFAULTS: dict = {
    "batch_size": 128,
    "eval_batch_size": 1000,
    "optimizer": "sgd",
    "lr": 0.1,
    "momentum": 0.9,
    "nesterov": True,
    "weight_decay": 5e-5,
    "schedule": "cosine",
    "warmup_epochs": 0.25,
    "checkpoint_every": 1e9,
}


@dataclass(frozen=True)
class SweepSpec:
    """What a sweep samples and how each trial trains. Everything here is part of the sweep's
    identity: resuming with other values is refused (workers and executor may change)."""

    space: str
    n: int
    flops: tuple[float, float] | None = None
    data: str = "fashion-mnist"
    data_dir: str | None = None
    epochs: int = 2
    train_subset: int | None = None
    max_steps: int | None = None
    val_size: float = 0
    seed: int = 0
    num_stages: int | None = None
    train_options: dict = field(default_factory=dict)
    ranges: dict = field(default_factory=dict)  # overrides of the space's default Ranges

    def __post_init__(self) -> None:
        get_space(self.space)  # a clear error for an unknown space
        if self.n < 1:
            raise ConfigError(f"a sweep needs n >= 1 trials, got {self.n}")
        if self.flops is not None:
            object.__setattr__(self, "flops", parse_window(self.flops))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["flops"] = list(self.flops) if self.flops is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> SweepSpec:
        names = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in names}
        if d.get("flops") is not None:
            d["flops"] = tuple(d["flops"])
        return cls(**d)


@dataclass
class SweepSummary:
    out_dir: Path
    counts: dict[str, int]
    ran: int
    seconds: float
    sampling: SampleStats | None = None


def sweep_store(out_dir: str | Path) -> SweepStore:
    path = Path(out_dir) / STORE_NAME
    if not path.exists():
        raise MissingError(f"{out_dir} holds no sweep ({STORE_NAME} is missing)")
    return SweepStore(path, readonly=True)


def _data_shape(spec: SweepSpec) -> tuple[tuple[int, int, int], int]:
    from cnnzoo.data import load_dataset

    ds = load_dataset(spec.data, split="train", data_dir=spec.data_dir, progress=False)
    c, h, w = ds.images.shape[1:]
    resize = spec.train_options.get("resize")
    if resize:
        h = w = int(resize)
    return (int(c), int(h), int(w)), len(ds.classes)


def trial_config(config: dict, **fields: object) -> dict:
    """The training of one sampled network (an ``AnyNetConfig.to_dict()``, or a generic
    network's ``ModelSpec.to_dict()``), as a :class:`~cnnzoo.train.TrainConfig` dict: the short
    recipe (:data:`SWEEP_TRAIN_DEFAULTS`) with ``fields`` (data, epochs, subset, seed, any
    TrainConfig field) on top."""
    from cnnzoo.train import TrainConfig

    if "model" in config:  # a generic network: its own options, its own init
        model = {"model": config["model"], "model_options": dict(config.get("options") or {})}
    else:
        model = {"model": "anynet", "model_options": {"config": config, "zero_init_last_bn": True}}
    return TrainConfig.from_dict(SWEEP_TRAIN_DEFAULTS | model | fields).to_dict()


def config_text(config: dict) -> str:
    """A sampled network in one line: a generic network's options, an AnyNet's stages."""
    if "model" in config:
        opts = config.get("options") or {}
        return " ".join(f"{k}={_compact(v)}" for k, v in opts.items())
    st = config.get("stages", [])
    return " ".join(
        f"{key}={_compact([x[field] for x in st])}"
        for key, field in (("d", "depth"), ("w", "width"), ("b", "bottleneck_ratio"),
                           ("g", "group_width"))
    )  # fmt: skip


def _compact(v: object) -> str:
    return "-".join(map(str, v)) if isinstance(v, list | tuple) else str(v)


def _train_config(spec: SweepSpec, config: dict) -> dict:
    fields = {
        "data": spec.data,
        "data_dir": spec.data_dir,
        "epochs": spec.epochs,
        "max_steps": spec.max_steps,
        "val_size": spec.val_size,
        "train_subset": spec.train_subset,
        "seed": spec.seed,
    }
    return trial_config(config, **(fields | spec.train_options))


def _create(spec: SweepSpec, store: SweepStore, log: Callable[[str], None]) -> SampleStats:
    input_size, num_classes = _data_shape(spec)
    ranges = get_space(spec.space).ranges(input_size, spec.num_stages)
    if spec.ranges:
        ranges = Ranges.from_dict(ranges.to_dict() | spec.ranges)
    stats = SampleStats()
    cands = sample_configs(
        spec.space,
        spec.n,
        spec.flops,
        input_size=input_size,
        num_classes=num_classes,
        ranges=ranges,
        seed=spec.seed,
        stats=stats,
    )
    trials = [
        {
            "idx": i,
            "space": spec.space,
            "config": c.config.to_dict(),
            "params": c.params,
            "flops": c.cost.flops,
            "n_params": c.cost.params,
            "acts": c.cost.activations,
        }
        for i, c in enumerate(cands)
    ]
    full = spec.to_dict() | {
        "input_size": list(input_size),
        "num_classes": num_classes,
        "resolved_ranges": ranges.to_dict(),
        "kind": get_space(spec.space).kind,
        "train": {
            k: v
            for k, v in _train_config(spec, trials[0]["config"]).items()
            if k != "model_options"
        },
    }
    store.create(full, trials)
    log(
        f"sampled {spec.n} {spec.space} networks"
        + (
            f" in {format_count(spec.flops[0])}:{format_count(spec.flops[1])} flops"
            if spec.flops
            else ""
        )
        + f" at {'x'.join(map(str, input_size))}: {stats.drawn:,} draws in {stats.seconds:.2f}s "
        f"({stats.rate:,.0f}/s; {stats.out_of_window:,} outside the window, "
        f"{stats.duplicates:,} duplicates, {stats.invalid:,} invalid)"
    )
    return stats


def _differences(saved: dict, spec: SweepSpec) -> list[str]:
    """How ``spec`` differs from the settings ``saved`` in the sweep's store, one line per
    field (none: the same sweep)."""
    mine = spec.to_dict()
    return [
        f"{k}: {saved.get(k)!r} in the sweep, {v!r} now"
        for k, v in mine.items()
        if json.loads(json.dumps(saved.get(k))) != json.loads(json.dumps(v))
    ]


def run_sweep(
    spec: SweepSpec,
    out_dir: str | Path,
    executor: Executor | str = "local",
    *,
    workers: int | None = None,
    threads: int | None = None,
    ray_address: str | None = None,
    retry_failed: bool = False,
    keep_checkpoints: bool = False,
    log: Callable[[str], None] | None = print,
) -> SweepSummary:
    """Run (or resume) the sweep ``spec`` in ``out_dir``; returns the trial counts."""
    say = log or (lambda _m: None)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    with directory_lock(out, "sweep"):
        store = SweepStore(out / STORE_NAME)
        saved = store.spec()
        stats = None
        if saved is None:
            stats = _create(spec, store, say)
            saved = store.spec()
        else:
            diff = _differences(saved, spec)
            if diff:
                raise ConfigError(
                    f"{out} holds a sweep with other settings ({'; '.join(diff)}); "
                    "rerun with the same settings to resume it, or choose another --out"
                )
            back = store.reset_running()
            counts = store.counts()
            say(
                f"resuming {out}: {counts['done']} done, {counts['failed']} failed, "
                f"{counts['pending']} to run" + (f" ({back} unfinished, rerun)" if back else "")
            )
        if not (out / "sweep.json").exists():  # a readable copy of the settings
            (out / "sweep.json").write_text(json.dumps(saved, indent=2))
        if retry_failed:
            n = store.retry_failed()
            if n:
                say(f"retrying {n} failed trial(s)")
        pending = store.pending()
        ex = (
            make_executor(executor, workers, threads, ray_address)
            if isinstance(executor, str)
            else executor
        )
        total = len(store.trials())
        done0 = total - len(pending)
        ran = 0
        if pending:
            say(f"running {len(pending)} trial(s) on {ex.describe()}")
        t_run = time.perf_counter()
        store_path = str((out / STORE_NAME).resolve())

        # every trial trains at the size its cost was computed for (the sampled size), not at
        # the size the trainer would pick for an AnyNet (32 for 28x28 images: its stride)
        side = int(saved["input_size"][1])
        tasks = [
            {
                "idx": t["idx"],
                "train": _train_config(spec, t["config"])
                | {"resize": spec.train_options.get("resize", side)},
                "out_dir": str((out / "trials" / f"{t['idx']:05d}").resolve()),
                "store": store_path,
                "keep_checkpoints": keep_checkpoints,
                "flops": t["flops"],
            }
            for t in pending
        ]

        def on_start(task: dict, worker: str) -> None:
            store.mark_running(task["idx"], worker)

        def on_done(task: dict, result: dict) -> None:
            nonlocal ran
            store.finish(task["idx"], result)
            ran += 1
            left = len(tasks) - ran
            per = (time.perf_counter() - t_run) / ran
            eta = per * left
            if result["status"] == "done":
                what = f"error {result['error']:.4f}"
                if result.get("best_error") is not None:
                    what += f" (best {result['best_error']:.4f})"
            else:
                what = "FAILED: " + (result.get("message") or "").splitlines()[0][:120]
            wall = result.get("wall_time")
            say(
                f"[{done0 + ran:>{len(str(total))}}/{total}] trial {task['idx']:>4} "
                f"{format_count(task['flops']):>7} flops  {what}"
                + (f"  {wall:.1f}s" if wall is not None and math.isfinite(wall) else "")
                + (f"  eta {_dur(eta)}" if left else "")
            )

        if tasks:
            ex.run(tasks, on_start, on_done)
        counts = store.counts()
    seconds = time.perf_counter() - t_start
    say(
        f"sweep {out}: {counts['done']} done, {counts['failed']} failed, "
        f"{counts['pending'] + counts['running']} left; {_dur(seconds)} this run"
    )
    return SweepSummary(out, counts, ran, seconds, stats)


def _dur(s: float) -> str:
    s = round(s)
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"
