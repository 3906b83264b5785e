"""``cnnzoo sweep analyze``: plots and a Markdown + HTML report comparing sweeps.

For sweeps S_1 … S_k (directories made by ``cnnzoo sweep run``): the error EDFs on one plot
(legend: n, min, mean, as in the papers' figures), the complexity-normalised EDFs, the
bootstrap of the best error with its 95% interval, error vs each design parameter (scatter),
block index vs width of the best models with their fitted line w_j = w_0 + w_a·j and derived
w_m (AnyNet and RegNet sweeps), error against each trial's training time with the Pareto front
(the search for time to accuracy), and a verdict: which space's EDF dominates, over how much of
the error range, by how much.

A little over 450 lines: one function per section of the report, in the report's order.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnzoo.designspace.analysis import (
    block_widths,
    bootstrap_best,
    complexity_bins,
    complexity_weights,
    dominance,
    edf_curve,
    fit_widths,
    pareto_front,
)
from cnnzoo.designspace.sampling import format_count
from cnnzoo.designspace.sweep import config_text, sweep_store
from cnnzoo.errors import ConfigError
from cnnzoo.report import pyplot, save_figure

__all__ = ["SweepData", "load_sweep", "write_sweep_report"]


@dataclass
class SweepData:
    """The finished trials of one sweep, as arrays, with its settings."""

    label: str
    path: Path
    spec: dict
    trials: list[dict]  # done trials only
    failed: int
    pending: int
    errors: np.ndarray
    flops: np.ndarray

    @property
    def n(self) -> int:
        return len(self.trials)


def load_sweep(path: str | Path, metric: str = "error", label: str | None = None) -> SweepData:
    """The done trials of the sweep in ``path`` (``metric``: ``error`` or ``best_error``)."""
    store = sweep_store(path)
    spec = store.spec() or {}
    trials = store.trials()
    done = [t for t in trials if t["status"] == "done" and t.get(metric) is not None]
    done = [t for t in done if math.isfinite(t[metric])]
    return SweepData(
        label=label or spec.get("space", Path(path).name),
        path=Path(path),
        spec=spec,
        trials=done,
        failed=sum(t["status"] == "failed" for t in trials),
        pending=sum(t["status"] in ("pending", "running") for t in trials),
        errors=np.array([t[metric] for t in done], dtype=float),
        flops=np.array([t["flops"] for t in done], dtype=float),
    )


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def _legend(s: SweepData) -> str:
    return f"{s.label} [n={s.n}, min {_pct(s.errors.min())}, mean {_pct(s.errors.mean())}]"


def _plot_edfs(sweeps: list[SweepData], path: Path, weights=None, title: str = "") -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for i, s in enumerate(sweeps):
        x, y = edf_curve(100 * s.errors, None if weights is None else weights[i])
        ax.step(np.r_[x[0], x], np.r_[0, y], where="post", lw=2, label=_legend(s))
    ax.set(xlabel="error (%)", ylabel="cumulative prob.", title=title, ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    save_figure(fig, path)
    plt.close(fig)
    return path


def _plot_bootstrap(sweeps: list[SweepData], boots: list, path: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.6 + 0.5 * len(sweeps)))
    for i, (_s, b) in enumerate(zip(sweeps, boots, strict=True)):
        ax.errorbar(
            100 * b.median, i,
            xerr=[[100 * (b.median - b.low)], [100 * (b.high - b.median)]],
            fmt="o", capsize=4, label=None,
        )  # fmt: skip
        ax.plot(100 * b.best, i, "k|", ms=12)
    ax.set_yticks(range(len(sweeps)), [s.label for s in sweeps])
    ax.set(xlabel="best error (%): bootstrap median and 95% interval; | = sample minimum")
    ax.grid(alpha=0.3, axis="x")
    save_figure(fig, path)
    plt.close(fig)
    return path


_LOG_PARAMS = ("w", "w0", "wa", "flops", "params", "g", "group_width")


def _param_names(s: SweepData) -> list[str]:
    names: list[str] = []
    for t in s.trials:
        names += [k for k in t["params"] if k not in names]
    return [*names, "flops", "params"]


def _plot_params(s: SweepData, path: Path) -> Path:
    plt = pyplot()
    names = _param_names(s)
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        if name == "flops":
            x = s.flops
        elif name == "params":
            x = np.array([t["n_params"] for t in s.trials], dtype=float)
        else:
            x = np.array([t["params"].get(name, np.nan) for t in s.trials], dtype=float)
        ax.scatter(x, 100 * s.errors, s=10, alpha=0.6)
        base = name.rstrip("0123456789") if name not in ("w0",) else name
        if base in _LOG_PARAMS and np.nanmin(x) > 0:
            _log_axis(ax.xaxis, ax.set_xscale, base=10 if name in ("flops", "params") else 2)
        ax.set(xlabel=name, ylabel="error (%)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.suptitle(f"{s.label}: error vs design parameters (n={s.n})")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def _log_axis(axis, set_scale, base: int) -> None:
    from matplotlib.ticker import EngFormatter, NullFormatter, ScalarFormatter

    set_scale("log", base=base)
    axis.set_major_formatter(ScalarFormatter() if base == 2 else EngFormatter())
    axis.set_minor_formatter(NullFormatter())


def _train_seconds(s: SweepData) -> np.ndarray:
    return np.array([t.get("train_time") or np.nan for t in s.trials], dtype=float)


def _plot_time(sweeps: list[SweepData], path: Path) -> list[list]:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.2))
    rows = []
    for s in sweeps:
        secs = _train_seconds(s)
        (dots,) = ax.plot(secs, 100 * s.errors, "o", ms=4, alpha=0.5, label=s.label)
        front = pareto_front(s.errors, secs)
        ax.plot(secs[front], 100 * s.errors[front], "-", color=dots.get_color(), lw=1.5)
        for i in front:
            t = s.trials[i]
            rows.append(
                [s.label, t["idx"], _pct(s.errors[i]), f"{secs[i]:.1f}",
                 format_count(t["flops"]), config_text(t["config"])]
            )  # fmt: skip
    ax.set(xlabel="training time of the trial (s)", ylabel="error (%)")
    ax.set_title("error against time (line: the Pareto front)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)
    plt.close(fig)
    return rows


def _best(s: SweepData, top: int) -> list[tuple[dict, float]]:
    order = np.argsort(s.errors, kind="stable")[:top]
    return [(s.trials[i], float(s.errors[i])) for i in order]


def _plot_widths(
    sweeps: list[SweepData], top: int, path: Path
) -> tuple[Path, list[list], dict[str, list]]:
    plt = pyplot()
    fig, axes = plt.subplots(
        1, len(sweeps), figsize=(4.6 * len(sweeps), 3.8), squeeze=False, sharey=True
    )
    rows = []
    fits: dict[str, list] = {}
    lo, hi = math.inf, 0
    for ax, s in zip(axes[0], sweeps, strict=True):
        for rank, (t, err) in enumerate(_best(s, top), start=1):
            w = block_widths(t["config"])
            fit = fit_widths(w, [st["width"] for st in t["config"]["stages"]])
            j = np.arange(len(w))
            (line,) = ax.plot(j, w, drawstyle="steps-post", lw=2, label=f"#{rank} {_pct(err)}")
            pred = fit.w_0 + fit.w_a * j
            ok = pred > 0  # a falling line may cross zero: not drawable on a log axis
            ax.plot(j[ok], pred[ok], "--", color=line.get_color(), lw=1)
            lo, hi = min(lo, min(w)), max(hi, max(w))
            rows.append(
                [s.label, rank, t["idx"], _pct(err), len(w), f"{fit.w_0:.1f}",
                 f"{fit.w_a:.1f}", f"{fit.w_m:.2f}", f"{fit.e_fit:.3f}"]
            )  # fmt: skip
            fits.setdefault(s.label, []).append(fit)
        ax.set(xlabel="block index j", title=f"{s.label}: best {top}")
        _log_axis(ax.yaxis, ax.set_yscale, base=2)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("width w_j (dashed: w_0 + w_a j)")
    axes[0][0].set_ylim(lo / 1.5, hi * 1.5)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path, rows, fits


# --------------------------------------------------------------------------- the document


class _Doc:
    """A tiny document model rendered both as Markdown and as HTML."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, object]] = []

    def h(self, text: str, level: int = 2) -> None:
        self.parts.append(("h", (level, text)))

    def p(self, text: str) -> None:
        self.parts.append(("p", text))

    def img(self, name: str, alt: str) -> None:
        self.parts.append(("img", (name, alt)))

    def table(self, head: list[str], rows: list[list]) -> None:
        self.parts.append(("table", (head, rows)))

    def markdown(self) -> str:
        out = []
        for kind, v in self.parts:
            if kind == "h":
                level, text = v
                out.append(f"{'#' * level} {text}\n")
            elif kind == "p":
                out.append(f"{v}\n")
            elif kind == "img":
                name, alt = v
                out.append(f"![{alt}]({name})\n")
            else:
                head, rows = v
                lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
                out.append("\n".join(lines) + "\n")
        return "\n".join(out)

    def html(self, title: str) -> str:
        out = [
            "<!doctype html><meta charset='utf-8'>",
            f"<title>{html.escape(title)}</title>",
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}"
            "img{max-width:100%}</style>",
        ]
        for kind, v in self.parts:
            if kind == "h":
                level, text = v
                out.append(f"<h{level}>{html.escape(text)}</h{level}>")
            elif kind == "p":
                out.append(f"<p>{html.escape(str(v))}</p>")
            elif kind == "img":
                name, alt = v
                out.append(f"<p><img src='{html.escape(name)}' alt='{html.escape(alt)}'></p>")
            else:
                head, rows = v
                cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
                body = "".join(
                    "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                    for r in rows
                )
                out.append(f"<table><tr>{cells}</tr>{body}</table>")
        return "\n".join(out) + "\n"


def _verdict(d, kind: str) -> str:
    if d.mean_gap == 0:
        return f"{kind}: {d.a} and {d.b} cannot be told apart."
    a_wins = d.mean_gap > 0
    win, lose = (d.a, d.b) if a_wins else (d.b, d.a)
    above, below = (d.frac_above, d.frac_below) if a_wins else (d.frac_below, d.frac_above)
    gap, at = (d.max_gap, d.at) if a_wins else (-d.min_gap, d.at_min)
    return (
        f"{kind}: {win}'s EDF dominates {lose}'s — it lies above over {100 * above:.0f}% of "
        f"the error range (below over {100 * below:.0f}%), by {abs(d.mean_gap):.3f} on average "
        f"(the mean vertical gap) and by up to {gap:.2f} (at {_pct(at)} error: "
        f"{100 * gap:.0f} more models in every 100 reach it); mean error {_pct(d.mean_a)} "
        f"({d.a}) vs {_pct(d.mean_b)} ({d.b}), median {_pct(d.median_a)} vs {_pct(d.median_b)}."
    )


def write_sweep_report(
    dirs: list[str | Path],
    out: str | Path | None = None,
    *,
    top: int = 5,
    bins: int = 5,
    n_boot: int = 10_000,
    frac: float = 0.25,
    metric: str = "error",
    labels: list[str] | None = None,
    seed: int = 0,
) -> Path:
    """Analyse the sweeps in ``dirs``; write the plots, ``report.md`` and ``report.html`` into
    ``out`` (default: the first sweep's ``analysis/``). Returns the Markdown report's path."""
    if labels and len(labels) != len(dirs):
        raise ConfigError(f"{len(labels)} labels for {len(dirs)} sweeps")
    sweeps = [load_sweep(d, metric, labels[i] if labels else None) for i, d in enumerate(dirs)]
    seen: dict[str, int] = {}
    for s in sweeps:  # two sweeps of one space: tell them apart by directory
        seen[s.label] = seen.get(s.label, 0) + 1
    for s in sweeps:
        if seen[s.label] > 1 and not labels:
            s.label = f"{s.label} ({s.path.name})"
    empty = [str(s.path) for s in sweeps if s.n == 0]
    if empty:
        raise ConfigError(f"no finished trial to analyse in {', '.join(empty)}")
    out_dir = Path(out) if out is not None else Path(dirs[0]) / "analysis"
    out_dir.mkdir(parents=True, exist_ok=True)

    doc = _Doc()
    title = "Design-space sweep: " + " vs ".join(s.label for s in sweeps)
    doc.h(title, 1)
    rows = []
    for s in sweeps:
        sp = s.spec
        flops = sp.get("flops")
        window = f"{format_count(flops[0])}:{format_count(flops[1])}" if flops else "any"
        wall = [t["wall_time"] for t in s.trials if t.get("wall_time")]
        rows.append([
            s.label, str(s.path), s.n, s.failed, s.pending, sp.get("data"),
            "x".join(map(str, sp.get("input_size", []))), window, sp.get("epochs"),
            sp.get("train_subset") or "all", f"{np.mean(wall):.1f}s" if wall else "-",
        ])  # fmt: skip
    doc.table(
        ["sweep", "directory", "done", "failed", "left", "data", "input", "flops", "epochs",
         "train images", "s/trial"],
        rows,
    )  # fmt: skip
    what = "final test error" if metric == "error" else "best per-epoch error"
    doc.p(f"Error is the {what} after each trial's short training budget.")

    doc.h("Error EDFs")
    _plot_edfs(sweeps, out_dir / "edf.png", title=f"error EDF ({metric})")
    doc.img("edf.png", "error EDFs")
    doc.p(
        "F(e) = fraction of models with error below e; a curve further up and to the left "
        "means more good models. Legend: [n, lowest error, mean error]."
    )

    edges = complexity_bins([s.flops for s in sweeps], bins)
    weights = [complexity_weights(s.flops, edges) for s in sweeps]
    doc.h("Complexity-normalised EDFs")
    _plot_edfs(
        sweeps, out_dir / "edf_normalized.png", weights, title=f"normalised EDF ({bins} bins)"
    )
    doc.img("edf_normalized.png", "normalised error EDFs")
    doc.p(
        f"Each model weighs 1/(k'·m_j), m_j being the models in its complexity bin (of {bins} "
        f"log-spaced bins from {format_count(edges[0])} to {format_count(edges[-1])} flops, "
        "shared by all sweeps; k' non-empty bins), so every sweep's complexity distribution is "
        "uniform (Radosavovic et al. 2019)."
    )

    if len(sweeps) > 1:
        doc.h("Which space dominates")
        ref = sweeps[0]
        for i, s in enumerate(sweeps[1:], start=1):
            raw = dominance(s.errors, ref.errors, (s.label, ref.label))
            norm = dominance(s.errors, ref.errors, (s.label, ref.label), weights[i], weights[0])
            doc.p(_verdict(raw, "EDF"))
            doc.p(_verdict(norm, "Normalised EDF"))

    doc.h("Bootstrap of the best error")
    boots = [bootstrap_best(s.errors, frac, n_boot, seed) for s in sweeps]
    _plot_bootstrap(sweeps, boots, out_dir / "bootstrap.png")
    doc.img("bootstrap.png", "bootstrap of the best error")
    doc.table(
        ["sweep", "lowest error", "bootstrap median", "95% interval", "m", "resamples"],
        [
            [s.label, _pct(b.best), _pct(b.median), f"{_pct(b.low)} – {_pct(b.high)}", b.m,
             b.n_boot]
            for s, b in zip(sweeps, boots, strict=True)
        ],
    )  # fmt: skip
    doc.p(
        f"The lowest error among m = {int(frac * 100)}% of the models drawn with replacement, "
        f"{n_boot:,} times (the empirical bootstrap of Radosavovic et al. 2020)."
    )

    doc.h("Error vs design parameters")
    for s in sweeps:
        name = f"params_{_slug(s.label)}.png"
        _plot_params(s, out_dir / name)
        doc.img(name, f"{s.label}: error vs each design parameter")

    doc.h("Error against training time")
    front = _plot_time(sweeps, out_dir / "time.png")
    doc.img("time.png", "error against each trial's training time")
    doc.table(["sweep", "trial", "error", "train s", "flops", "network"], front)
    doc.p(
        "The Pareto front: the trials that no other trial of the sweep beats on both error and "
        "training time (measured on the machine that ran the trial). A search for time to "
        "accuracy picks from it; rerun the pick with the full recipe to confirm."
    )

    staged = [s for s in sweeps if all("stages" in t["config"] for t in s.trials)]
    if staged:
        _width_section(doc, staged, top, out_dir)

    md = out_dir / "report.md"
    md.write_text(doc.markdown())
    (out_dir / "report.html").write_text(doc.html(title))
    return md


def _width_section(doc: _Doc, sweeps: list[SweepData], top: int, out_dir: Path) -> None:
    doc.h("Block widths of the best models")
    _, fit_rows, fits = _plot_widths(sweeps, top, out_dir / "widths.png")
    doc.img("widths.png", "block index vs width of the best models")
    doc.table(["sweep", "rank", "trial", "error", "blocks", "w_0", "w_a", "w_m", "e_fit"], fit_rows)
    for label, fs in fits.items():
        med = {k: float(np.median([getattr(f, k) for f in fs])) for k in ("w_0", "w_a", "w_m")}
        efit = float(np.median([f.e_fit for f in fs]))
        doc.p(
            f"{label}, best {len(fs)}: median w_0 = {med['w_0']:.1f}, w_a = {med['w_a']:.1f}, "
            f"w_m = {med['w_m']:.2f}, e_fit = {efit:.3f}."
        )
    doc.p(
        "Each best model's per-block widths with the least-squares line w_j = w_0 + w_a·j "
        "(dashed); w_m is the mean ratio of consecutive stage widths, e_fit the mean "
        "|log(w_j / (w_0 + w_a·j))|. Good networks of the refined spaces grow their widths "
        "roughly linearly, the observation behind RegNet."
    )


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in s).strip("_").lower() or "sweep"
