"""AlexNet's claims: its four techniques one at a time (1) and its parallelism (2).

Krizhevsky, Sutskever & Hinton, NeurIPS 2012.
"""

from __future__ import annotations

from cnnzoo.claims.common import (
    acc_table,
    bars,
    cores,
    diff_finding,
    ratio_finding,
    seeds,
    train_job,
)
from cnnzoo.claims.core import (
    Analysis,
    Claim,
    Finding,
    Job,
    by_group,
    missing_finding,
    register_claim,
)
from cnnzoo.claims.stats import mean_interval

__all__: list[str] = []


# --------------------------------------------------------------------------- 1. AlexNet's tricks

_RELU, _SIG = {"act": "relu", "pool": "max"}, {"act": "sigmoid", "pool": "max"}
_ALEX_VARIANTS = {
    # group: (lenet options, augmentation, what it is)
    "modern": (_RELU | {"dropout": 0.5}, True, "ReLU, max pooling, dropout, augmentation"),
    "sigmoid": (_SIG | {"dropout": 0.5}, True, "modern, sigmoid instead of ReLU"),
    "avg-pool": (_RELU | {"pool": "avg", "dropout": 0.5}, True, "modern, average pooling"),
    "no-dropout": (_RELU | {"dropout": 0.0}, True, "modern without dropout"),
    "no-augment": (_RELU | {"dropout": 0.5}, False, "modern without augmentation"),
    "lenet-1998": (_SIG | {"pool": "avg", "dropout": 0.0}, False, "none of the four (reference)"),
}
_ALEX_TECHNIQUES = (
    ("ReLU", "sigmoid", "ReLU instead of sigmoid raises test accuracy"),
    ("max pooling", "avg-pool", "max instead of average pooling raises test accuracy"),
    ("dropout", "no-dropout", "dropout raises test accuracy"),
    ("augmentation", "no-augment", "augmentation (random crops and flips) raises test accuracy"),
)


#: peak rates at batch 128: ReLU networks 0.1; sigmoids need a far higher one to leave the
#: chance plateau (at 0.1 the sigmoid LeNet stays at chance for 30 epochs of 5,000 images;
#: 1.2 is the fast recipe's rate for it, benchmarks/RESULTS-zoo.md)
_ALEX_LR = {"relu": 0.1, "sigmoid": 1.2}


def _alexnet_jobs(s: dict) -> list[Job]:
    jobs = []
    for group, (opts, aug, _) in _ALEX_VARIANTS.items():
        for seed in seeds(s):
            jobs.append(
                train_job(
                    f"{group}/seed{seed}",
                    group,
                    seed,
                    "lenet",
                    s,
                    opts,
                    batch_size=128,
                    optimizer="sgd",
                    lr=_ALEX_LR[opts["act"]],
                    momentum=0.9,
                    nesterov=True,
                    weight_decay=5e-4,
                    schedule="cosine",
                    warmup_epochs=1.0,
                    grad_clip=2.0,
                    init="xavier",
                    crop_padding=2 if aug else 0,
                    hflip=aug,
                    recipe="claim:alexnet-techniques",
                )
            )
    return jobs


def _alexnet_rule(s: dict, results: dict) -> Analysis:
    acc = by_group(results, "test_acc")
    findings = [
        diff_finding(
            statement, f"test accuracy, modern − without {tech}", acc.get("modern"), acc.get(g)
        )
        for tech, g, statement in _ALEX_TECHNIQUES
    ]
    cols, rows = acc_table([(g, v[2]) for g, v in _ALEX_VARIANTS.items()], acc)

    def plot(fig) -> None:
        ax = fig.add_subplot(1, 1, 1)
        bars(ax, list(_ALEX_VARIANTS), acc, "test accuracy")
        lows = [v for g in acc.values() for v in g.values()]
        if lows:
            ax.set_ylim(max(0.0, min(lows) - 0.05), min(1.0, max(lows) + 0.02))
        ax.set_title("LeNet-5 with and without each of AlexNet's techniques")

    return Analysis(findings, cols, rows, plot)


register_claim(
    Claim(
        id="alexnet-techniques",
        title="AlexNet's modern techniques, one at a time",
        sentence=(
            "AlexNet improved on LeNet with ReLU instead of the sigmoid, max pooling, dropout and "
            "image augmentation; each of them makes the network better."
        ),
        paper="Krizhevsky, Sutskever & Hinton, NeurIPS 2012",
        measured=(
            "LeNet-5's shapes with all four techniques ('modern') against the same network "
            "with one technique taken away; the same optimiser for all (SGD, Nesterov 0.9, "
            "batch 128, cosine after a one-epoch warm-up, clipping at 2, xavier init) except "
            "the peak rate, each activation's own (ReLU 0.1, sigmoid 1.2: at 0.1 the sigmoid "
            "network never leaves chance); test accuracy, paired by seed"
        ),
        settings={
            "smoke": {"seeds": 2, "epochs": 1, "train_subset": 128, "max_steps": 3},
            "cpu": {"seeds": 3, "epochs": 30, "train_subset": 5000},
            "paper": {"seeds": 5, "epochs": 30, "train_subset": None},
        },
        experiment=_alexnet_jobs,
        rule=_alexnet_rule,
        why_it_may_fail=(
            "dropout and augmentation fight overfitting; a network as small as LeNet on a "
            "short budget hardly overfits, so they may cost accuracy instead"
        ),
    )
)


# --------------------------------------------------------------------------- 2. AlexNet on GPUs


def _parallel_jobs(s: dict) -> list[Job]:
    size = s["input_size"]
    variants = [
        {"name": "one group", "model": "alexnet_paper", "options": {"groups": 1}},
        {"name": "two groups", "model": "alexnet_paper", "options": {"groups": 2}},
    ]
    threads = sorted({1, int(s.get("max_threads") or 0) or cores()})
    args = {
        "variants": variants, "input_size": [1, size, size], "batch_size": s["batch_size"],
        "threads": threads, "repeats": s["repeats"], "min_time": s["min_time"], "gpu": True,
    }  # fmt: skip
    if "min_iters" in s:  # the smoke budget's (the other budgets' jobs keep their hashes)
        args["min_iters"] = s["min_iters"]
    return [Job("speed", "speed", 0, kind="probe", probe="train_speed", args=args, exclusive=True)]


def _parallel_rule(s: dict, results: dict) -> Analysis:
    from cnnzoo.claims.stats import ratio_interval

    rec = results.get("speed")
    res = (rec or {}).get("result")
    if not res or rec.get("status") != "finished":
        return Analysis(
            [missing_finding("more threads train faster", "speed-up", 1.2, scale=1.0, unit="x")]
        )
    v = res["variants"]
    one, two = v["one group"], v["two groups"]
    threads = sorted((t for t in one["images_per_s"] if t.isdigit()), key=int)
    t_lo, t_hi = threads[0], threads[-1]
    speedup = ratio_interval(one["images_per_s"][t_hi], one["images_per_s"][t_lo])
    findings = [
        Finding(
            f"{t_hi} threads train AlexNet faster than {t_lo} (parallel hardware pays)",
            f"images/s with {t_hi} threads / with {t_lo}",
            speedup,
            1.2,
            ">",
            unit="x",
        ),
        ratio_finding(
            "the two-group split cuts the multiply-adds of the split layers",
            "multiply-adds, two groups / one group",
            two["mult_adds"],
            one["mult_adds"],
            1.0,
            "<",
        ),
    ]
    per_madd = ratio_interval(
        [a * two["mult_adds"] for a in two["images_per_s"][t_hi]],
        [b * one["mult_adds"] for b in one["images_per_s"][t_hi]],
    )
    cols = ["variant", "parameters", "multiply-adds"] + [
        f"images/s, {t} thread(s)" for t in threads
    ]
    rows = [
        [name, f"{x['params']:,}", f"{x['mult_adds'] / 1e6:.1f}M"]
        + [mean_interval(x["images_per_s"][t]).format(1) for t in threads]
        for name, x in v.items()
    ]
    notes = []
    if "cuda" in one["images_per_s"]:
        cols.append(f"images/s, GPU ({res['gpu']['name']})")
        for row, x in zip(rows, v.values(), strict=True):
            row.append(mean_interval(x["images_per_s"]["cuda"]).format(1))
        gpu_x = ratio_interval(one["images_per_s"]["cuda"], one["images_per_s"][t_hi])
        notes.append(
            f"On the GPU ({res['gpu']['name']}, {res['gpu']['precision']}) the one-group "
            f"network trains {gpu_x.format(1)} times as fast as on {t_hi} CPU threads."
        )
    else:
        notes.append("No GPU on this machine: the GPU column is measured where there is one.")
    notes.append(
        f"Measured on {res['device']} ({res['precision']}, batch {res['batch_size']}, input "
        f"{'x'.join(map(str, res['input_size']))}); the two-group network does "
        f"{per_madd.format(2)} times the multiply-adds per second of the one-group network "
        f"with {t_hi} threads: grouped convolutions save arithmetic but run less efficiently."
    )

    def plot(fig) -> None:
        ax = fig.add_subplot(1, 1, 1)
        for name, x in v.items():
            ts = [int(t) for t in threads]
            ms = [mean_interval(x["images_per_s"][t]).value for t in threads]
            ax.plot(ts, ms, marker="o", label=name)
        ax.set_xlabel("threads")
        ax.set_ylabel("training images/s")
        ax.set_xticks([int(t) for t in threads])
        ax.legend()
        ax.grid(alpha=0.3)
        ax.set_title("AlexNet (2012 paper's layout) training throughput")

    return Analysis(findings, cols, rows, plot, notes)


register_claim(
    Claim(
        id="alexnet-parallel",
        title="AlexNet's parallelism",
        sentence=(
            "AlexNet was made to run on GPUs: parallel hardware made training it practical, "
            "and its layers were split in two groups, one per GPU."
        ),
        paper="Krizhevsky, Sutskever & Hinton, NeurIPS 2012",
        measured=(
            "training images/s of the paper's AlexNet with 1 thread and with all cores (and on "
            "the GPU when there is one), repeated and interleaved; multiply-adds of the "
            "two-group split against the joined network"
        ),
        settings={
            "smoke": {
                "input_size": 64,
                "batch_size": 4,
                "repeats": 2,
                "min_time": 0.05,
                "min_iters": 1,
            },
            "cpu": {"input_size": 96, "batch_size": 32, "repeats": 5, "min_time": 2.0},
            "paper": {"input_size": 224, "batch_size": 128, "repeats": 5, "min_time": 5.0},
        },
        experiment=_parallel_jobs,
        rule=_parallel_rule,
        why_it_may_fail="two cores give at most a 2x speed-up, less when memory bandwidth binds",
    )
)
