"""Which modules a nightly run loads at start: the libraries complyflow needs, and the Prefect modules it uses.

The measured run imports them in that order (libraries, then Prefect, then complyflow), so that the
time charged to Prefect is what Prefect adds to a process that loads complyflow anyway.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

OWN_PACKAGES = ("complyflow", "flows", "tasks")
#: What the measured process imports first: the CLI and the nightly flow (a deployment run loads the latter).
ENTRY_MODULES = ("complyflow.cli", "flows.nightly")


def module_level_imports(root: Path, entries: tuple[str, ...] = ENTRY_MODULES) -> tuple[list[str], list[str]]:
    """(third-party top-level packages, Prefect modules) imported at module level by `entries` and every
    complyflow module they import in turn.

    Imports inside functions are left out: they are paid only when that function runs (scipy for a KS
    test, moto for the demo), not when a run starts.
    """
    libraries: set[str] = set()
    prefect_modules: set[str] = set()
    seen: set[str] = set()
    pending = list(entries)
    while pending:
        module = pending.pop()
        path = _source(root, module)
        if module in seen or path is None:
            continue
        seen.add(module)
        pending.extend(_parents(module))
        if path.name == "__init__.py" and "pkgutil.iter_modules(__path__)" in path.read_text(encoding="utf-8"):
            # a package that imports its modules by discovery (tasks.collect): every module is imported
            pending.extend(f"{module}.{p.stem}" for p in sorted(path.parent.glob("*.py")) if p.stem != "__init__")
        for name in _imported_names(ast.parse(path.read_text(encoding="utf-8")), root):
            top = name.split(".")[0]
            if top in OWN_PACKAGES:
                pending.append(name)
            elif top == "prefect":
                prefect_modules.add(name)
            elif top not in sys.stdlib_module_names and top != "__future__":
                libraries.add(top)
    return sorted(libraries), sorted(prefect_modules)


def _source(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imported_names(tree: ast.Module, root: Path) -> list[str]:
    """Module names a file imports at its top level (`from pkg import mod` names `pkg.mod` when it is a module)."""
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
            if node.module.split(".")[0] in OWN_PACKAGES:
                names.extend(
                    f"{node.module}.{a.name}"
                    for a in node.names
                    if _source(root, f"{node.module}.{a.name}") is not None
                )
    return names
