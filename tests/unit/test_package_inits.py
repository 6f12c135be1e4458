"""Package ``__init__`` files import nothing but, at most, their blueprint.

Importing ``a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py`` first; import-linter does
not count those runs, so an ``__init__`` that imports its package's modules can hide an import
cycle from it (one ran through 68 modules before the layers). These tests keep them empty.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "dashboard"
INITS = sorted(PACKAGE.rglob("__init__.py"))


def _is_allowed(node: ast.stmt, package: str) -> bool:
    """Return True for a docstring, ``__version__``/``__all__``, or the package's blueprint."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return isinstance(node.value.value, str)
    if isinstance(node, ast.ImportFrom):
        if node.module == "__future__":
            return True
        if node.module == "flask" and [a.name for a in node.names] == ["Blueprint"]:
            return True
        # ``from dashboard.web.payments.routes import bp``: its own blueprint, nothing else.
        own = node.level == 0 and (node.module or "").startswith(f"{package}.")
        return own and [a.name for a in node.names] == ["bp"]
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        if not isinstance(target, ast.Name):
            return False
        if target.id in ("__version__", "__all__"):
            # Plain values only: a string, or a list of strings.
            values = (
                node.value.elts if isinstance(node.value, ast.List | ast.Tuple) else [node.value]
            )
            return all(isinstance(v, ast.Constant) for v in values)
        if target.id == "bp" and isinstance(node.value, ast.Call):
            return getattr(node.value.func, "id", None) == "Blueprint"
    return False


@pytest.mark.parametrize("init", INITS, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_a_package_init_holds_at_most_its_blueprint(init: Path):
    package = ".".join(init.parent.relative_to(PACKAGE.parent).parts)
    tree = ast.parse(init.read_text())
    refused = [ast.unparse(node) for node in tree.body if not _is_allowed(node, package)]
    assert refused == [], f"{init}: only a docstring and the blueprint belong here"


def test_every_folder_of_the_app_is_a_regular_package():
    # A folder without __init__.py is a namespace package: import-linter's contracts skip it.
    folders = {p.parent for p in PACKAGE.rglob("*.py")}
    assert sorted(str(f) for f in folders if not (f / "__init__.py").exists()) == []


def test_importing_money_loads_no_other_layer():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, dashboard.domain.money; "
            "print(' '.join(m for m in sys.modules if m.startswith('dashboard')))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent,
    ).stdout.split()
    assert sorted(loaded) == ["dashboard", "dashboard.domain", "dashboard.domain.money"]
