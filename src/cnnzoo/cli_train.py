"""``cnnzoo train / compare / eval / predict``: argument parsing and printing only."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from cnnzoo.cli_args import key_value, nonneg_float, nonneg_int, positive_int
from cnnzoo.cli_bench import add_bench_runs

# --------------------------------------------------------------------------- train


_TRAIN_FLAGS = {
    # flag: (dest in TrainConfig, type, help)
    "--epochs": ("epochs", int, "number of epochs"),
    "--max-steps": ("max_steps", int, "stop after this many optimizer steps (a short smoke run)"),
    "--batch-size": (
        "batch_size",
        int,
        "training batch size; with several processes the global batch, split evenly among them",
    ),
    "--lr": ("lr", float, "peak learning rate"),
    "--optimizer": ("optimizer", str, "sgd or adamw"),
    "--momentum": ("momentum", float, "SGD momentum"),
    "--weight-decay": ("weight_decay", float, "weight decay (not applied to norms and biases)"),
    "--schedule": ("schedule", str, "constant, step, cosine or onecycle"),
    "--warmup-epochs": ("warmup_epochs", float, "linear learning-rate warm-up, in epochs"),
    "--label-smoothing": ("label_smoothing", float, "label smoothing of the cross-entropy"),
    "--grad-clip": ("grad_clip", float, "clip the gradient norm to this value"),
    "--ema": ("ema_decay", float, "keep an EMA of the weights with this decay, e.g. 0.999"),
    "--val-size": (
        "val_size",
        float,
        "validation images held out of the training split (count or fraction)",
    ),
    "--train-subset": ("train_subset", int, "train on a seeded subset of this many images"),
    "--test-subset": ("test_subset", int, "evaluate on a fixed subset of this many test images"),
    "--resize": ("resize", int, "resize images to this size (the book's 224 or 96)"),
    "--progressive-size": (
        "progressive_size",
        int,
        "progressive resizing: the first epochs train on images of this size, growing to the "
        "full size over --progressive-epochs",
    ),
    "--progressive-epochs": (
        "progressive_epochs",
        float,
        "epochs over which --progressive-size grows to the full size (0: off)",
    ),
    "--crop-padding": ("crop_padding", int, "random crop with this much padding (0: off)"),
    "--erase-prob": ("erase_prob", float, "probability of random erasing per image"),
    "--init": (
        "init",
        str,
        "weight init: the model's own (default), xavier (the book's), kaiming (He's)",
    ),
    "--init-from": (
        "init_from",
        str,
        "start from these weights: a state-dict file (torchvision, timm, pycls or cnnzoo "
        "layout) or a run directory; a classifier for other classes starts afresh",
    ),
    "--precision": ("precision", str, "auto, bf16, fp16 or fp32"),
    "--device": ("device", str, "auto, cpu, cuda or cuda:N"),
    "--seed": ("seed", int, "random seed: same seed, same run"),
    "--data-dir": ("data_dir", str, "where the data set files are"),
    "--checkpoint-every": ("checkpoint_every", float, "seconds between mid-epoch checkpoints"),
    "--checkpoint-every-steps": (
        "checkpoint_every_steps",
        int,
        "checkpoint every this many steps instead",
    ),
}


def _show_config(args: argparse.Namespace, overrides: dict) -> int:
    from cnnzoo.train import explain_recipe, network_traits, recipe_config
    from cnnzoo.train.recipes import auto_input_size

    config = recipe_config(args.recipe, args.model, **overrides)
    traits = network_traits(args.model, config.model_options)
    print(f"{args.model} with the {args.recipe!r} recipe:")
    for reason in explain_recipe(args.recipe, args.model, **overrides):
        print(f"  - {reason}")
    if config.resize is None:
        size = auto_input_size(traits, 28)
        note = f"{size}x{size} for 28x28 images such as Fashion-MNIST's" + (
            " (resized by the loader)" if size != 28 else " (no resizing)"
        )
        print(f"  - input: chosen when the data is loaded: {note}")
    print(json.dumps(config.to_dict(), indent=2))
    return 0


def _check_budget_args(args: argparse.Namespace) -> None:
    """--budget chooses the run's length: refuse the options that would set it too."""
    from cnnzoo.errors import ConfigError
    from cnnzoo.train.budget import parse_duration

    parse_duration(args.budget)  # a clear error before anything else
    clash = [
        flag for flag, given in (
            ("--epochs", args.epochs is not None), ("--max-steps", args.max_steps is not None),
            ("--nproc", args.nproc is not None),
        ) if given
    ]  # fmt: skip
    if clash:
        raise ConfigError(
            f"--budget chooses the number of epochs itself: it cannot be combined with "
            f"{', '.join(clash)} (with --nproc, give --epochs)"
        )


def _budget_epochs(args: argparse.Namespace, overrides: dict) -> int:
    """The number of epochs that fit in --budget on this machine (measured now)."""
    from cnnzoo.train import recipe_config
    from cnnzoo.train.budget import parse_duration, plan_budget

    budget = parse_duration(args.budget)
    log = None if args.quiet else (lambda line: print(line, flush=True))
    if args.resume and args.out and (Path(args.out) / "checkpoints" / "last.json").exists():
        epochs = _planned_epochs(Path(args.out))  # not planned again: the schedule is laid out
        if log is not None:
            log(f"time budget: the run resumes with the {epochs} epochs planned at its start")
        return epochs

    def config_for(epochs: int):
        return recipe_config(args.recipe, args.model, **overrides, epochs=epochs)

    return plan_budget(budget, config_for, log).config.epochs


def _planned_epochs(out: Path) -> int:
    """The length of the run in ``out`` (its config.json), which a resumed budget run keeps."""
    from cnnzoo.errors import ConfigError

    try:
        epochs = json.loads((out / "config.json").read_text())["epochs"]
    except (OSError, ValueError, KeyError, TypeError):
        epochs = None
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(
            f"cannot read the number of epochs planned for the run in {out} from its "
            "config.json; resume it with --epochs N instead of --budget"
        )
    return epochs


def _over_budget(budget: str) -> None:
    """Say so when the run ended after its budget: the machine trained slower than it did when
    it was measured (a shared or throttled machine); the run itself is complete."""
    from cnnzoo.train.budget import parse_duration, process_age

    seconds, took = parse_duration(budget), process_age()
    if took > seconds:
        print(
            f"cnnzoo: the run ended {took - seconds:.0f} s after its budget of {seconds:.0f} s "
            f"({took:.0f} s in all): this machine trained slower than when it was measured at "
            "the start (a shared or throttled machine). The run is complete, its schedule was "
            "not cut short; give a shorter --budget to finish in time on such a machine",
            file=sys.stderr,
        )


def _stop_on_sigterm() -> None:
    """SIGTERM (``kill``, a job scheduler's stop) ends a training as Ctrl-C does: the run is
    marked interrupted in the store and what was saved is kept, ready for --resume."""
    import signal
    import threading

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def _resumed_model(args: argparse.Namespace) -> str | None:
    """The model of the run in ``--out`` when ``--resume`` is given (None if unreadable: the
    trainer then says what is wrong with the folder)."""
    if not (args.resume and args.out):
        return None
    try:
        model = json.loads((Path(args.out) / "config.json").read_text()).get("model")
    except (OSError, ValueError, AttributeError):
        return None
    return model if isinstance(model, str) else None


def cmd_train(args: argparse.Namespace) -> int:
    if args.model is None:  # the run's own model when resuming one, else the recipe's network
        from cnnzoo.train.recipes import DEFAULT_MODEL

        args.model = _resumed_model(args) or DEFAULT_MODEL
    if args.budget is not None:
        _check_budget_args(args)
    if args.nproc and not args.show_config:  # torchrun runs this command in N processes
        from cnnzoo.cli_launch import launch_local

        _stop_on_sigterm()
        return launch_local(args.nproc, args.raw_argv)
    from cnnzoo.train import recipe_config, train

    overrides = {
        dest: getattr(args, dest)
        for dest, _, _ in _TRAIN_FLAGS.values()
        if getattr(args, dest) is not None
    }
    for flag in (
        "nesterov", "hflip", "tta", "compile", "channels_last", "tensorboard", "sync_bn",
    ):  # fmt: skip
        if getattr(args, flag) is not None:
            overrides[flag] = getattr(args, flag)
    if args.option:
        overrides["model_options"] = dict(args.option)
    overrides["data"] = args.data
    if args.budget is not None:  # as many epochs as fit: measured on this machine, now
        overrides["epochs"] = _budget_epochs(args, overrides)
    if args.show_config:
        return _show_config(args, overrides)
    _stop_on_sigterm()
    config = recipe_config(args.recipe, args.model, **overrides)
    # no --out: train() picks runs/MODEL-DATA-TIME
    result = train(config, args.out, resume=args.resume, quiet=args.quiet)
    if os.environ.get("RANK", "0") != "0":
        return 0 if result["status"] == "finished" else 3  # rank 0 prints
    if args.quiet:
        keys = ("model", "status", "test_acc", "epochs", "wall_time", "diagnosis")
        print(json.dumps({k: result[k] for k in keys}))
    if args.budget is not None and not args.resume:  # (a resumed process has its own age)
        _over_budget(args.budget)
    if result["status"] != "finished":
        print(f"cnnzoo: {result['status']}: {result['diagnosis']}", file=sys.stderr)
        return 3
    return 0


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on a data set (progress, checkpoints, metrics, plots)",
        description="Train MODEL on a data set. Everything goes to --out: config.json, "
        "checkpoints/ (last and best, safetensors), metrics.jsonl/.csv, eval.json, curves.png, "
        "confusion.png and summary.md; the run is recorded in runs.sqlite beside it. "
        "Interrupted? Run the same command with --resume. A run that diverges or does not "
        "learn (its loss stays at chance) is marked so and exits with status 3. "
        "The recipe derives its settings from the network (batch norm or not, activation, "
        "depth, size); --show-config prints what it picks for MODEL, and why, without "
        "training. The input size is the data's, or the size the network needs (its fixed "
        "size, or its minimum rounded up: 32 for the ImageNet networks on 28x28 images) "
        "unless --resize is given. Several processes (DistributedDataParallel): --nproc N, or "
        "`torchrun --nproc-per-node N -m cnnzoo train ...`; --batch-size is then the global "
        "batch, and only rank 0 writes and prints.",
    )
    p.add_argument(
        "model", nargs="?",
        help="a registered model name (see `cnnzoo list`); default: speednet, the network the "
        "fast recipe was tuned with (Fashion-MNIST in minutes on a CPU)",
    )  # fmt: skip
    p.add_argument("--data", default="fashion-mnist", help="data set name (see `cnnzoo data list`)")
    p.add_argument(
        "--recipe",
        choices=("fast", "d2l"),
        default="fast",
        help="fast: ours, best accuracy per minute on a CPU, settings derived from the network "
        "(default); d2l: the book's settings (its rate for its networks)",
    )
    p.add_argument(
        "--show-config", action="store_true",
        help="print the resolved training config and the reason for each setting, then exit",
    )  # fmt: skip
    p.add_argument(
        "--budget", metavar="DURATION",
        help="train for as many epochs as fit in this wall time on this machine (300, 90s, 5m, "
        "1.5h), start-up and evaluations included: a few steps are timed first and the "
        "recipe's schedule is laid out over the epochs that fit (instead of --epochs); planned "
        "once, so a machine that slows down later can end after it (the run then says so)",
    )  # fmt: skip
    p.add_argument("--out", type=Path, help="run directory (default runs/MODEL-DATA-TIME)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress or epoch lines; JSON at end")
    p.add_argument(
        "--nproc", type=positive_int, metavar="N",
        help="train with N processes on this machine (DistributedDataParallel; torchrun "
        "started for you); see the README's 'Distributed training' for several machines",
    )  # fmt: skip
    for flag, (dest, typ, help_) in _TRAIN_FLAGS.items():
        p.add_argument(flag, dest=dest, type=typ, default=None, help=help_)
    for flag, help_ in (
        ("nesterov", "Nesterov momentum"),
        ("hflip", "random horizontal flips"),
        ("tta", "evaluate with flip test-time augmentation"),
        ("compile", "torch.compile the model"),
        (
            "channels_last",
            "channels_last memory format (default: on a CPU; on a GPU, with autocast)",
        ),
        (
            "tensorboard",
            "write TensorBoard event files into the run directory (scalars every "
            "epoch, confusion matrix at the end; needs pip install 'cnnzoo[tensorboard]'): "
            "`tensorboard --logdir runs` shows every run",
        ),
        (
            "sync_bn",
            "with several processes, batch norm over the global batch (SyncBatchNorm); "
            "without it each process normalises with its own share's statistics",
        ),
    ):
        p.add_argument(
            f"--{flag.replace('_', '-')}", dest=flag, default=None,
            action=argparse.BooleanOptionalAction, help=help_,
        )  # fmt: skip
    p.add_argument(
        "--option", action="append", type=key_value, metavar="KEY=VALUE",
        help="model option, e.g. --option shortcut=\"B\" (repeatable)",
    )  # fmt: skip
    p.set_defaults(func=cmd_train)


# --------------------------------------------------------------------------- eval / predict


def cmd_eval(args: argparse.Namespace) -> int:
    from cnnzoo.train import evaluate_checkpoint

    res, meta = evaluate_checkpoint(
        args.run, split=args.split, data=args.data, data_dir=args.data_dir, tta=args.tta,
        device=args.device, which=args.which, subset=args.test_subset,
    )  # fmt: skip
    if args.format == "json":
        print(json.dumps(res.to_dict() | {"checkpoint": meta["checkpoint"]}, indent=2))
        return 0
    print(f"{meta['model']} ({meta['checkpoint']}) on {args.data or meta['data']} {args.split}")
    print(f"accuracy {res.acc:.4f}  loss {res.loss:.4f}  ({res.count} images)")
    width = max(len(c) for c in meta["classes"])
    for name, acc in zip(meta["classes"], res.per_class_acc, strict=True):
        print(f"  {name:<{width}}  {acc:.4f}  {'█' * round(acc * 30)}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    if Path(args.checkpoint).suffix == ".onnx":  # an exported file: onnxruntime, no model code
        from cnnzoo.export import predict_onnx

        results = predict_onnx(args.checkpoint, args.images, top_k=args.top_k)
    else:
        from cnnzoo.train import predict_images

        results = predict_images(args.checkpoint, args.images, top_k=args.top_k)
    if args.format == "json":
        print(json.dumps(results, indent=2))
        return 0
    for r in results:
        preds = ", ".join(f"{p['class']} {p['prob']:.3f}" for p in r["predictions"])
        print(f"{r['image']}: {preds}")
    return 0


def _add_eval_predict(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate a run or checkpoint: accuracy, loss, per-class accuracy",
        description="Evaluate the best (or last) checkpoint of a run directory, or a "
        "checkpoint directory, on a split of its data set.",
    )
    p.add_argument("run", help="run directory or checkpoint directory")
    p.add_argument("--split", default="test", help="split to evaluate (default test)")
    p.add_argument("--data", help="another data set with the same classes")
    p.add_argument("--data-dir", help="where the data set files are")
    p.add_argument("--which", choices=("best", "last"), default="best", help="which checkpoint")
    p.add_argument("--tta", action="store_true", help="flip test-time augmentation")
    p.add_argument(
        "--test-subset", type=positive_int, metavar="N",
        help="evaluate on a fixed subset of N images (the one training's --test-subset uses)",
    )  # fmt: skip
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "predict",
        help="classify image files with a trained checkpoint or an exported ONNX file",
        description="Print the most likely classes of each image (PNG, JPEG, ...). Images are "
        "converted to the checkpoint's channels and resized to its input size. An .onnx file "
        "written by `cnnzoo export` is run with onnxruntime, its settings read from its "
        "metadata.",
    )
    p.add_argument("checkpoint", help="run directory, checkpoint directory or .onnx file")
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--top-k", type=positive_int, default=3, help="how many classes to show")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_predict)


def cmd_compare(args: argparse.Namespace) -> int:
    from cnnzoo.compare import compare

    overrides = {"data": args.data}
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.max_steps is not None:
        overrides["max_steps"] = args.max_steps
    if args.seed is not None:
        overrides["seed"] = args.seed
    if args.test_subset is not None:
        overrides["test_subset"] = args.test_subset
    if args.val_size is not None:
        overrides["val_size"] = args.val_size
    rows = compare(args.models, args.out, recipe=args.recipe, quiet=args.quiet, **overrides)
    from cnnzoo.fmt import text_table

    table = [
        [r["model"] + ("" if r["status"] == "finished" else f" ({r['status']})"),
         f"{r['test_acc']:.4f}", f"{r['params'] / 1e6:.3f}M",
         f"{r['mult_adds'] / 1e6:.1f}M", f"{r['images_per_s']:,.0f}", f"{r['wall_time']:.1f}s",
         str(r["epochs"])]
        for r in rows
    ]  # fmt: skip
    cols = ["model", "test acc", "params", "mult-adds", "train img/s", "train time", "epochs"]
    print()
    print(text_table(cols, table, (False,) + (True,) * 6))
    for r in rows:
        if r["status"] != "finished":
            print(f"\n{r['model']}: {r['status']}; see {r['run_dir']}/summary.md for what to try")
    print(f"\nplots: {args.out / 'comparison.png'} and each run's curves.png / confusion.png;")
    print(f"reports: {args.out}/<model>/summary.md")
    return 0


def _add_compare(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="train several models with one recipe and compare them side by side",
        description="Train each MODEL with the same recipe into OUT/<model> (already trained "
        "ones are reused, interrupted ones resumed), then print test accuracy, parameters, "
        "multiply-adds, images/s and training time, and plot accuracy per epoch and per second.",
    )
    p.add_argument("models", nargs="+", help="registered model names")
    p.add_argument("--data", default="fashion-mnist")
    p.add_argument("--recipe", choices=("fast", "d2l"), default="fast")
    p.add_argument("--epochs", type=positive_int)
    p.add_argument("--max-steps", type=positive_int)
    p.add_argument("--seed", type=nonneg_int)
    p.add_argument("--test-subset", type=positive_int, help="evaluate on a fixed subset")
    p.add_argument("--val-size", type=nonneg_float, help="validation images held out")
    p.add_argument("--out", type=Path, default=Path("runs/compare"))
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_compare)


def add_train_commands(sub: argparse._SubParsersAction) -> None:
    _add_train(sub)
    _add_compare(sub)
    _add_eval_predict(sub)
    add_bench_runs(sub)
