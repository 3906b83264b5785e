"""Plots and Markdown reports of runs, and the two helpers every plot of cnnzoo uses:
:func:`pyplot` (matplotlib, headless) and :func:`save_figure` (written atomically)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "confusion_figure", "plot_confusion", "plot_curves", "pyplot", "save_figure",
    "write_run_report",
]  # fmt: skip


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend, so that plotting works without
    a display (a server, a worker process); matplotlib is imported only when a plot is made."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> None:
    """Write ``fig`` to ``path`` (format from its suffix, 120 dpi, tight) through a temporary
    file and a rename, so that ``path`` never holds half an image."""
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=120, bbox_inches="tight")
    os.replace(tmp, path)


def plot_curves(history: list[dict], path: Path, title: str = "") -> Path:
    """Loss and accuracy per epoch: training and evaluation side by side."""
    plt = pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    for key, label in (("train_loss", "train"), ("val_loss", "validation"), ("test_loss", "test")):
        if any(key in h for h in history):
            ax_loss.plot(epochs, [h.get(key) for h in history], marker="o", label=label)
    for key, label in (
        ("train_acc", "train"),
        ("val_acc", "validation"),
        ("test_acc", "test"),
        ("ema_val_acc", "validation (EMA)"),
        ("ema_test_acc", "test (EMA)"),
    ):
        if any(key in h for h in history):
            ax_acc.plot(epochs, [h.get(key) for h in history], marker="o", label=label)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="top-1 accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    save_figure(fig, path)
    plt.close(fig)
    return path


def plot_confusion(
    confusion: list[list[int]], classes: list[str], path: Path, title: str = ""
) -> Path:
    """``confusion.png``: see :func:`confusion_figure`."""
    fig = confusion_figure(confusion, classes, title)
    save_figure(fig, path)
    pyplot().close(fig)
    return path


def confusion_figure(confusion: list[list[int]], classes: list[str], title: str = ""):
    """Row-normalised confusion matrix (rows: true class), counts written in the cells: a
    matplotlib figure (the caller closes it)."""
    plt = pyplot()
    import numpy as np

    cm = np.asarray(confusion, dtype=float)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    n = len(classes)
    size = max(4.0, 0.55 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), classes, rotation=45, ha="right")
    ax.set_yticks(range(n), classes)
    ax.set(xlabel="predicted", ylabel="true", title=title or "confusion matrix")
    if n <= 20:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black")  # fmt: skip
    fig.colorbar(im, ax=ax, fraction=0.046)
    return fig


def _num(value: float | None, spec: str = ".4f") -> str:
    return "n/a" if value is None or value != value else format(value, spec)


def write_run_report(out_dir: Path, history: list[dict], result: dict) -> Path:
    """``curves.png``, ``confusion.png`` and ``summary.md`` in the run directory."""
    out_dir = Path(out_dir)
    title = f"{result['model']} on {result['data']}"
    if history:
        plot_curves(history, out_dir / "curves.png", title)
    plot_confusion(result["confusion"], result["classes"], out_dir / "confusion.png", title)
    lines = [f"# {title}", ""]
    status = result.get("status", "finished")
    if status != "finished":
        lines += [f"> **{status.upper()}**: {result.get('diagnosis') or ''}", ""]
    lines += [
        f"- status: {status}",
        f"- test accuracy: **{result['test_acc']:.4f}** (loss {_num(result['test_loss'])})",
    ]
    if result.get("ema_test_acc") is not None:
        lines.append(f"- test accuracy of the EMA weights: {result['ema_test_acc']:.4f}")
    if result.get("best_val_acc") is not None:
        lines.append(f"- best validation accuracy: {result['best_val_acc']:.4f}")
    elif any(h.get("test_acc") is not None for h in history):  # no validation split held out
        best = max(h["test_acc"] for h in history if h.get("test_acc") is not None)
        lines.append(f"- best test accuracy over the epochs: {best:.4f} (no validation split)")
    ev = "val" if any("val_loss" in h for h in history) else "test"
    lines += [
        f"- {result['epochs']} epochs, {result['steps']} steps, {result['wall_time']:.1f} s of "
        f"training, {result['images_per_s']:,.0f} images/s",
        f"- {result['params']:,} parameters; {result['device']}, {result['precision']}"
        f"{', channels_last' if result['channels_last'] else ''}, {result['threads']} threads",
        "",
        f"| epoch | train loss | train acc | {ev} loss | {ev} acc |",
        "|---:|---:|---:|---:|---:|",
    ]
    for h in history:
        lines.append(
            f"| {h['epoch']} | {_num(h['train_loss'])} | {_num(h['train_acc'])} | "
            f"{_num(h.get(ev + '_loss'))} | {_num(h.get(ev + '_acc'))} |"
        )
    lines += ["", "## Per-class test accuracy", "", "| class | accuracy |", "|---|---:|"]
    lines += [
        f"| {c} | {a:.4f} |"
        for c, a in zip(result["classes"], result["per_class_acc"], strict=True)
    ]
    lines += ["", "![curves](curves.png)", "", "![confusion matrix](confusion.png)", ""]
    path = out_dir / "summary.md"
    path.write_text("\n".join(lines))
    return path
