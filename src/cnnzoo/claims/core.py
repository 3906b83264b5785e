"""What a claim is: a sentence, the experiment that tests it, and the rule that judges it.

A :class:`Claim` is declarative: its ``experiment(setting)`` lists the :class:`Job` s to run
(trainings through the trainer, or measurements — "probes" — such as a throughput timing) for
one budget's setting, and its ``rule(setting, results)`` turns their results into an
:class:`Analysis`: the table, the figure and the :class:`Finding` s, each an interval compared
with a threshold (:func:`~cnnzoo.claims.stats.decide`). The numbers come only from the
results; the verdict only from the rule.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cnnzoo.claims.stats import Interval, combine, decide
from cnnzoo.errors import ConfigError, UnknownNameError

__all__ = [
    "BUDGETS",
    "LATER_SETTINGS",
    "Analysis",
    "Claim",
    "Finding",
    "Job",
    "by_group",
    "get_claim",
    "list_claims",
    "register_claim",
]

#: ``smoke``: seconds, for tests (tiny data, a few steps: the verdicts mean nothing);
#: ``cpu``: minutes per claim on 2 cores (the committed results); ``paper``: the paper's or the
#: book's settings, hours on a CPU, meant for a GPU or a Ray cluster.
BUDGETS = ("smoke", "cpu", "paper")


#: training settings added to ``TrainConfig`` after jobs were recorded, with their default: a
#: job's spec leaves them out while they are at it, so that a new setting that changes nothing
#: by default leaves every recorded job current
LATER_SETTINGS: dict[str, object] = {
    "sync_bn": False, "init_from": None, "tensorboard": False,
    "progressive_size": None, "progressive_epochs": 0.0,
}  # fmt: skip


@dataclass(frozen=True)
class Job:
    """One unit of work of a claim's experiment.

    ``kind="train"``: ``train`` holds the :class:`~cnnzoo.train.TrainConfig` fields (the runner
    fills in the data set); ``after`` lists probes run on the trained run directory (e.g.
    accuracy on shifted test images) and ``args`` may hold ``epoch_eval=False`` (evaluate the
    test split once, at the end, not after every epoch). ``kind="probe"``: the probe ``probe`` of
    :mod:`cnnzoo.claims.probes` called with ``args``. ``exclusive`` jobs (timings) run alone,
    with every core, after the others.
    """

    key: str
    group: str
    seed: int = 0
    kind: str = "train"
    train: dict | None = None
    probe: str | None = None
    args: dict = field(default_factory=dict)
    after: tuple = ()
    exclusive: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("train", "probe"):
            raise ValueError(f"job kind must be 'train' or 'probe', got {self.kind!r}")
        if self.kind == "train" and not self.train:
            raise ValueError(f"training job {self.key!r} has no training config")
        if self.kind == "probe" and not self.probe:
            raise ValueError(f"probe job {self.key!r} names no probe")

    def spec(self) -> dict:
        """Everything that decides the job's result: a finished job is reused only when its
        spec is unchanged."""
        train = self.train and {
            k: v for k, v in self.train.items() if k not in LATER_SETTINGS or v != LATER_SETTINGS[k]
        }
        return {
            "kind": self.kind,
            "train": train,
            "probe": self.probe,
            "args": self.args,
            "after": [dict(a) for a in self.after],
        }

    def spec_hash(self) -> str:
        text = json.dumps(self.spec(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Finding:
    """One testable statement: "``quantity`` is ``claimed`` ``threshold``", measured as
    ``interval``. ``scale`` and ``unit`` only change how it is printed (accuracy differences
    in percentage points: ``scale=100, unit=" pp"``)."""

    statement: str
    quantity: str
    interval: Interval
    threshold: float
    claimed: str = ">"
    scale: float = 1.0
    unit: str = ""
    digits: int = 2

    @property
    def verdict(self) -> str:
        return decide(self.interval, self.threshold, self.claimed)

    def describe(self) -> str:
        thr = f"{self.threshold * self.scale:.{self.digits}f}{self.unit}"
        return (
            f"{self.quantity}: {self.interval.format(self.digits, self.scale, self.unit)} "
            f"(claimed {self.claimed} {thr})"
        )

    def to_dict(self) -> dict:
        return {
            "statement": self.statement,
            "quantity": self.quantity,
            "interval": self.interval.to_dict(),
            "threshold": self.threshold,
            "claimed": self.claimed,
            "verdict": self.verdict,
        }


#: How accuracy and error differences print: in percentage points.
PP = {"scale": 100.0, "unit": " pp", "digits": 2}


def missing_finding(
    statement: str, quantity: str, threshold: float = 0.0, claimed: str = ">", **fmt: object
) -> Finding:
    """A finding without data (its runs failed or have not run): inconclusive."""
    nothing = Interval(math.nan, -math.inf, math.inf, 0, "none")
    return Finding(statement, quantity, nothing, threshold, claimed, **(PP | fmt))  # type: ignore[arg-type]


@dataclass
class Analysis:
    """What a claim's rule makes of the results."""

    findings: list[Finding]
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    plot: Callable | None = None  # plot(fig): draws the claim's figure
    notes: list[str] = field(default_factory=list)
    progress: tuple[int, int] | None = None  # (jobs with a result, jobs of the experiment)

    @property
    def verdict(self) -> str:
        return combine([f.verdict for f in self.findings])

    @property
    def complete(self) -> bool:
        return self.progress is None or self.progress[0] >= self.progress[1]

    @property
    def headline(self) -> str:
        """The verdict, or how far the experiment is while some of its jobs have no result."""
        if self.complete:
            return self.verdict
        return f"incomplete ({self.progress[0]} of {self.progress[1]} jobs)"


@dataclass(frozen=True)
class Claim:
    """A claim of the seed, as an experiment and a rule.

    ``settings`` maps each budget (:data:`BUDGETS`) to its plain-data setting (seeds, epochs,
    images, ...), shown in the report; ``experiment(setting)`` lists the jobs;
    ``rule(setting, results)`` analyses their results (``results[job.key]``, see
    :mod:`cnnzoo.claims.runner`).
    """

    id: str
    title: str
    sentence: str
    paper: str
    measured: str
    settings: dict
    experiment: Callable[[dict], list[Job]] = field(repr=False)
    rule: Callable[[dict, dict], Analysis] = field(repr=False)
    why_it_may_fail: str = ""

    def setting(self, budget: str) -> dict:
        if budget not in BUDGETS:
            raise ConfigError(f"unknown budget {budget!r}; choose one of {', '.join(BUDGETS)}")
        return dict(self.settings[budget]) | {"budget": budget}

    def jobs(self, budget: str) -> list[Job]:
        jobs = self.experiment(self.setting(budget))
        keys = [j.key for j in jobs]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"claim {self.id}: duplicate job keys {dupes}")
        return jobs


_CLAIMS: dict[str, Claim] = {}

#: The modules that register the claims on import, in the order of the seed's networks (the
#: order of ``cnnzoo claims list`` and of the report): the networks' claims first, the design
#: space's last.
CLAIM_MODULES = (
    "cnnzoo.claims.alexnet",
    "cnnzoo.claims.vgg_nin",
    "cnnzoo.claims.googlenet_bn",
    "cnnzoo.claims.resnet",
    "cnnzoo.claims.densenet_d2l",
    "cnnzoo.claims.anynet",
    "cnnzoo.claims.regnet_rule",
)


def register_claim(claim: Claim) -> Claim:
    if claim.id in _CLAIMS:
        raise ValueError(f"claim {claim.id!r} is registered twice")
    missing = [b for b in BUDGETS if b not in claim.settings]
    if missing:
        raise ValueError(f"claim {claim.id!r} has no setting for budget(s) {missing}")
    _CLAIMS[claim.id] = claim
    return claim


def _load() -> None:
    import importlib

    for module in CLAIM_MODULES:
        importlib.import_module(module)


def list_claims() -> list[Claim]:
    """Every claim, in the order of the seed's networks: by its module's place in
    :data:`CLAIM_MODULES` (whatever order they were imported in), then as registered; claims
    registered elsewhere come last."""
    _load()

    def place(claim: Claim) -> int:
        module = getattr(claim.experiment, "__module__", "")
        return CLAIM_MODULES.index(module) if module in CLAIM_MODULES else len(CLAIM_MODULES)

    return sorted(_CLAIMS.values(), key=place)


def get_claim(claim_id: str) -> Claim:
    _load()
    try:
        return _CLAIMS[claim_id]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(claim_id, list(_CLAIMS), n=3, cutoff=0.4)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownNameError(
            f"unknown claim {claim_id!r}.{hint} Run `cnnzoo claims list` to see them all."
        ) from None


# --------------------------------------------------------------------------- helpers for rules


def by_group(
    results: dict, metric: str | Callable[[dict], float | None], groups: Sequence[str] | None = None
) -> dict[str, dict[int, float]]:
    """``{group: {seed: value}}`` of one metric over the finished jobs (``metric`` is a key of
    a job's result or a function of it); failed jobs and missing values are left out."""
    out: dict[str, dict[int, float]] = {}
    for rec in results.values():
        if rec.get("status") == "failed" or rec.get("result") is None:
            continue
        if groups is not None and rec["group"] not in groups:
            continue
        res = rec["result"]
        value = metric(res) if callable(metric) else res.get(metric)
        if value is None or not math.isfinite(float(value)):
            continue
        out.setdefault(rec["group"], {})[int(rec["seed"])] = float(value)
    return out
