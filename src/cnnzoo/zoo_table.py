"""The zoo table: every row ``cnnzoo list`` prints, computed once and shipped as package data.

``cnnzoo list`` reads ``zoo_table.json`` (next to this module) instead of building all the
networks, so it starts in a fraction of a second without importing torch. :func:`compute_table`
is the measured path it stands for: the registry's metadata and :func:`cnnzoo.cost.complexity`'s
count on the meta device. ``tests/test_zoo_table.py`` recomputes every row and fails when the
file is stale or misses a model. After adding or changing a model, regenerate it with::

    python -m cnnzoo.zoo_table --write

(``--check`` only compares). Reading the table (:func:`load_table`) needs neither torch nor the
models; computing it needs both, imported when called.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "REGENERATE",
    "TABLE_FILE",
    "compute_table",
    "generic_row",
    "load_table",
    "model_row",
    "table_problems",
    "write_table",
]

TABLE_FILE = Path(__file__).with_name("zoo_table.json")
REGENERATE = "python -m cnnzoo.zoo_table --write"


def model_row(name: str) -> dict[str, object]:
    """A network's row: name, family, year, default input size, classes, parameters and
    multiply-adds ("flops") at that input size, measured on the meta device."""
    from cnnzoo.cost import complexity
    from cnnzoo.models import model_info

    info = model_info(name)
    cost = complexity(name)  # built on the meta device: no memory, no arithmetic
    return {
        "name": name,
        "family": info.family,
        "year": info.year,
        "input": "x".join(map(str, info.input_size)),
        "classes": info.num_classes,
        "params": cost.params,
        "flops": cost.flops,
    }


def generic_row(name: str) -> dict[str, str]:
    """A generic builder's row: name, first line of its docstring, its options with defaults."""
    from cnnzoo.models import model_info

    info = model_info(name)
    options = ", ".join(f"{k}={v!r}" for k, v in info.options.items())
    return {"name": name, "summary": info.summary, "options": options}


def compute_table() -> dict[str, list[dict]]:
    """The table for every registered name: ``models`` (the zoo's networks) and ``generic``
    (builders of variants), each sorted by name."""
    from cnnzoo.models import list_models

    return {
        "models": [model_row(n) for n in list_models()],
        "generic": [generic_row(n) for n in list_models(generic=True)],
    }


def table_problems(table: dict[str, list[dict]], pattern: str = "*") -> list[str]:
    """What in ``table`` disagrees with the registered models matching ``pattern`` (recomputed
    on the meta device): one line per stale, missing or unknown row; empty when it is current."""
    from cnnzoo.models import list_models

    problems = []
    for key, make_row, generic in (("models", model_row, False), ("generic", generic_row, True)):
        rows = {r["name"]: r for r in table[key] if fnmatch.fnmatchcase(r["name"], pattern)}
        names = list_models(pattern, generic=generic)
        for name in names:
            if name not in rows:
                problems.append(f"{name}: missing from {key!r}")
            elif rows[name] != (row := make_row(name)):
                problems.append(f"{name}: stale, table has {rows[name]}, measured {row}")
        problems += [f"{n}: in {key!r} but not registered" for n in rows if n not in names]
        order = [r["name"] for r in table[key]]
        if order != sorted(order):
            problems.append(f"{key!r} is not sorted by name")
    return problems


def load_table(path: Path = TABLE_FILE) -> dict[str, list[dict]]:
    """The committed table (no torch, no model built)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"models": data["models"], "generic": data["generic"]}


def _dumps(table: dict[str, list[dict]]) -> str:
    # one row per line, so that a changed model is a one-line diff
    parts = ["{", f'  "regenerate": {json.dumps(REGENERATE)},']
    for i, key in enumerate(("models", "generic")):
        rows = ",\n".join(f"    {json.dumps(r, ensure_ascii=False)}" for r in table[key])
        parts.append(f'  "{key}": [\n{rows}\n  ]' + ("," if i == 0 else ""))
    return "\n".join([*parts, "}"]) + "\n"


def write_table(path: Path = TABLE_FILE) -> dict[str, list[dict]]:
    """Compute the table and write it to ``path``."""
    table = compute_table()
    path.write_text(_dumps(table), encoding="utf-8")
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnnzoo.zoo_table",
        description="Recompute the table `cnnzoo list` prints (every model on the meta device).",
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help=f"rewrite {TABLE_FILE.name}")
    group.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    if args.write:
        table = write_table()
        counts = f"{len(table['models'])} models, {len(table['generic'])} generic builders"
        print(f"wrote {TABLE_FILE} ({counts})")
        return 0
    problems = table_problems(load_table())
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"{TABLE_FILE} is out of date; run `{REGENERATE}`", file=sys.stderr)
        return 1
    print(f"{TABLE_FILE} is up to date")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
