"""Train several models the same way and put the results side by side."""

from __future__ import annotations

import json
import time
from pathlib import Path

from cnnzoo.train.recipes import recipe_config
from cnnzoo.train.trainer import train

__all__ = ["compare", "plot_comparison"]


def compare(
    models: list[str],
    out_dir: str | Path,
    recipe: str = "fast",
    resume: bool = True,
    quiet: bool = False,
    **overrides: object,
) -> list[dict]:
    """Train each model with the same recipe into ``out_dir/<model>`` and return one row per
    model: test accuracy, parameters, multiply-adds, images/s, wall time. Models already
    trained there are not trained again (and an interrupted one is resumed)."""
    from cnnzoo.cost import complexity

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in models:
        run_dir = out_dir / name
        done = run_dir / "eval.json"
        if done.exists():
            result = json.loads(done.read_text())
            if not quiet:
                print(f"{name}: already trained in {run_dir}, reusing its result")
        else:
            config = recipe_config(recipe, name, **overrides)
            has_ckpt = (run_dir / "checkpoints" / "last.json").exists()
            start = time.perf_counter()
            result = train(config, run_dir, resume=resume and has_ckpt, quiet=quiet)
            result["total_time"] = time.perf_counter() - start
            done.write_text(json.dumps(result, indent=2))
        c = json.loads((run_dir / "config.json").read_text())
        meta_input = _input_size(run_dir)
        cost = complexity(name, input_size=meta_input, num_classes=len(result["classes"]),
                          **c.get("model_options", {}))  # fmt: skip
        rows.append(
            {
                "model": name,
                "status": result.get("status", "finished"),
                "test_acc": result["test_acc"],
                "params": cost.params,
                "mult_adds": cost.flops,
                "images_per_s": result["images_per_s"],
                "wall_time": result["wall_time"],
                "epochs": result["epochs"],
                "run_dir": str(run_dir),
            }
        )
    plot_comparison(out_dir, [r["model"] for r in rows])
    (out_dir / "comparison.json").write_text(json.dumps(rows, indent=2))
    return rows


def _input_size(run_dir: Path) -> tuple[int, int, int]:
    from cnnzoo.train.checkpoint import load_checkpoint

    meta = load_checkpoint(run_dir, which="last", state=False).meta
    c, h, w = meta["input_size"]
    return int(c), int(h), int(w)


def plot_comparison(out_dir: Path, models: list[str]) -> Path:
    """Evaluation accuracy per epoch of every model on one plot: ``comparison.png``."""
    from cnnzoo.report import pyplot, save_figure

    plt = pyplot()
    fig, (ax_acc, ax_time) = plt.subplots(1, 2, figsize=(11, 4))
    for name in models:
        path = Path(out_dir) / name / "metrics.jsonl"
        if not path.exists():
            continue
        hist = [json.loads(line) for line in path.read_text().splitlines()]
        key = "val_acc" if "val_acc" in hist[0] else "test_acc"
        ax_acc.plot([h["epoch"] for h in hist], [h[key] for h in hist], marker="o", label=name)
        ax_time.plot([h["elapsed"] for h in hist], [h[key] for h in hist], marker="o", label=name)
    ax_acc.set(xlabel="epoch", ylabel="held-out accuracy", title="accuracy per epoch")
    ax_time.set(xlabel="training time (s)", ylabel="held-out accuracy", title="accuracy per second")
    for ax in (ax_acc, ax_time):
        ax.grid(alpha=0.3)
        ax.legend()
    path = Path(out_dir) / "comparison.png"
    save_figure(fig, path)
    plt.close(fig)
    return path
