"""The import layers of docs/ARCHITECTURE.md, checked by walking every module's imports (ast).

Lowest first: utilities → registry/blocks → models → cost → data → train → claims/designspace
→ cli. A module may import from its own layer or a lower one, never from a higher one, and the
imports (including those inside functions: they run too) have no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Layer of each module, by longest matching name prefix (a package covers its submodules).
LAYERS: dict[str, int] = {
    # 0: utilities that know nothing of networks
    "cnnzoo.errors": 0,
    "cnnzoo.fmt": 0,
    "cnnzoo.locking": 0,
    "cnnzoo.store": 0,
    "cnnzoo.report": 0,
    # 1: the registry mechanism and the building blocks
    "cnnzoo.registry": 1,
    "cnnzoo.blocks": 1,
    # 2: the networks
    "cnnzoo.models": 2,
    "cnnzoo.models.weights": 2,  # weights from other projects' files
    "cnnzoo.models.weights_layouts": 2,
    # 3: what a network costs
    "cnnzoo.cost": 3,
    "cnnzoo.zoo_table": 3,
    # 4: data
    "cnnzoo.data": 4,
    # 5: training, evaluation, inference, speed
    "cnnzoo.train": 5,
    "cnnzoo.bench": 5,
    "cnnzoo.export": 5,
    # 6: what is built on training: claims, design spaces, comparisons
    "cnnzoo.claims": 6,
    "cnnzoo.designspace": 6,
    "cnnzoo.compare": 6,
    # 7: the front ends
    "cnnzoo.cli": 7,
    "cnnzoo.cli_args": 7,
    "cnnzoo.cli_train": 7,
    "cnnzoo.cli_bench": 7,
    "cnnzoo.cli_launch": 7,
    "cnnzoo.cli_sweep": 7,
    "cnnzoo.cli_claims": 7,
    "cnnzoo.cli_export": 7,
    "cnnzoo.__main__": 7,
    "cnnzoo": 7,  # the package facade re-exports the public API
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer(name: str) -> int:
    best = max((p for p in LAYERS if name == p or name.startswith(p + ".")), key=len, default=None)
    if best is None:
        raise AssertionError(f"{name} has no layer: add it to LAYERS and to docs/ARCHITECTURE.md")
    return LAYERS[best]


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The cnnzoo modules ``path`` imports. ``from pkg import sub`` counts as ``pkg.sub`` only;
    the parent packages every import runs implicitly are not counted."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "cnnzoo"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "cnnzoo":
                continue
            subs = {f"{node.module}.{a.name}" for a in node.names} & modules
            found |= subs
            if len(subs) < len(node.names):  # names defined in the module itself
                found.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; cnnzoo uses absolute imports")
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in (SRC / "cnnzoo").rglob("*.py")}
    modules = set(files)
    return {name: imports_of(path, modules) - {name} for name, path in files.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_every_module_has_a_layer_and_imports_only_downwards() -> None:
    graph = import_graph()
    upward = [
        f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})"
        for a, targets in sorted(graph.items())
        for b in sorted(targets)
        if layer(b) > layer(a)
    ]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_checker_sees_cycles_and_upward_edges() -> None:
    """The checks themselves: a made-up graph with a cycle and an upward edge is caught."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert layer("cnnzoo.models.resnet") == 2 and layer("cnnzoo.train.trainer") == 5
    with pytest.raises(AssertionError, match="no layer"):
        layer("cnnzoo_other.thing")


def test_imports_of_reads_function_level_and_skips_type_checking(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text(
        "from typing import TYPE_CHECKING\n"
        "import cnnzoo.errors\n"
        "from cnnzoo import data\n"
        "if TYPE_CHECKING:\n    from cnnzoo.train import trainer\n"
        "def f():\n    from cnnzoo.models import resnet\n"
    )
    mods = {"cnnzoo.data", "cnnzoo.models.resnet", "cnnzoo.train.trainer"}
    assert imports_of(f, mods) == {"cnnzoo.errors", "cnnzoo.data", "cnnzoo.models.resnet"}
