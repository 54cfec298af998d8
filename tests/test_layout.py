"""The package's shape: data <- metrics <- report, imports flowing one way.

A module may import its own layer and the layers below it, never one above: ``data``
imports neither ``metrics`` nor ``report``; ``metrics`` does not import ``report``.
``cli`` and ``errors`` sit outside the layers (``cli`` on top, ``errors`` below all).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "salesnb"
RANK = {"errors": -1, "data": 0, "metrics": 1, "report": 2, "cli": 3}


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            if node.module == "salesnb":  # from salesnb import metrics
                names += [f"salesnb.{alias.name}" for alias in node.names]
    return [name for name in names if name.startswith("salesnb.")]


def layer_of(parts: tuple[str, ...]) -> str | None:
    head = parts[0].removesuffix(".py")
    return head if head in RANK else None


def test_every_module_is_in_a_layer():
    loose = [path.name for path in PACKAGE.glob("*.py") if path.stem not in RANK and path.stem != "__init__"]
    assert loose == [], f"modules outside data/, metrics/, report/: {loose}"


def test_imports_flow_one_way():
    against = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = layer_of(path.relative_to(PACKAGE).parts)
        if own is None:
            continue  # salesnb/__init__.py re-exports from data only (checked below)
        for module in imported_modules(path):
            target = layer_of(tuple(module.split(".")[1:]))
            if target is not None and RANK[target] > RANK[own]:
                against.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert against == []


def test_package_root_imports_only_the_data_layer():
    # `import salesnb` must stay light: no IPython, matplotlib or papermill on import. Its
    # functions (salesnb.open) may import the layers above when they are called.
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    modules = [node.module for node in tree.body if isinstance(node, ast.ImportFrom) and node.module]
    assert all(module.startswith("salesnb.data.") for module in modules), modules
