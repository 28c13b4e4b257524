"""The shape every module keeps (docs/architecture.md), checked on the source itself.

- no source file (migrations aside) over 600 lines: a reader finds a feature by folder and file name;
- a name starting with one underscore is private to its file: no other file imports it or reaches it as an
  attribute of an imported govgrid module;
- nothing in the source can unpickle (or otherwise deserialise code).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "govgrid"
MAX_LINES = 600
OURS = ("govgrid", "tests")  # the packages whose private names are checked


def _python_files(*roots: Path) -> list[Path]:
    return sorted(p for r in roots for p in r.rglob("*.py") if "migrations" not in p.parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(path: Path) -> list[str]:
    """Cross-file uses of private names in one file: `from govgrid.x import _y`, `import govgrid.x._y`, and
    `m._y` where `m` is a govgrid module imported into this file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    module_aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in OURS:
            for part in node.module.split("."):
                if _private(part):
                    found.append(f"{path.name}:{node.lineno} from {node.module}")
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{path.name}:{node.lineno} from {node.module} import {alias.name}")
                else:
                    module_aliases.add(alias.asname or alias.name)  # maybe a module: checked below
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in OURS:
                    if any(_private(p) for p in alias.name.split(".")):
                        found.append(f"{path.name}:{node.lineno} import {alias.name}")
                    module_aliases.add(alias.asname or alias.name.split(".")[0])
    # names defined in this file shadow nothing imported: only attributes of imported names count
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in module_aliases:
                found.append(f"{path.name}:{node.lineno} {ast.unparse(node)}")
    return found


def test_no_source_file_is_longer_than_600_lines():
    long = {str(p.relative_to(ROOT)): n for p in _python_files(SRC)
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}, f"split these by sub-domain: {long}"


@pytest.mark.parametrize("folder", ["src/govgrid", "tests", "bench"])
def test_no_private_name_is_used_across_files(folder):
    uses = {str(p.relative_to(ROOT)): u for p in _python_files(ROOT / folder) if (u := private_uses(p))}
    assert uses == {}, f"make these public (documented, typed) functions of the right service: {uses}"


def test_the_checker_sees_each_kind_of_private_use(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from govgrid.appeals.services import access\n"
        "from govgrid.cli import _bootstrap\n"
        "import govgrid.core._hidden\n"
        "from govgrid.core import db\n"
        "x = access._secret(1)\n"
        "y = db.get_engine()\n"
        "class A:\n    def f(self):\n        return self._own\n"
        "z = access.__doc__\n",
        encoding="utf-8",
    )
    uses = private_uses(sample)
    assert len(uses) == 3, uses
    assert any("_bootstrap" in u for u in uses) and any("_hidden" in u for u in uses)
    assert any("access._secret" in u for u in uses)


UNSAFE_LOADERS = re.compile(r"^\s*(import|from)\s+(pickle|cPickle|_pickle|dill|shelve|marshal|cloudpickle)\b"
                            r"|joblib\.load|\bpickle\.loads?\(", re.MULTILINE)


def test_nothing_in_the_source_can_unpickle():
    hits = [str(p.relative_to(ROOT)) for p in SRC.rglob("*.py")
            if UNSAFE_LOADERS.search(p.read_text("utf-8"))]
    assert hits == []


@pytest.mark.parametrize("bench", sorted((ROOT / "bench").glob("*.py")), ids=lambda p: p.name)
def test_every_benchmark_has_a_smoke_mode_that_ci_runs(bench):
    assert '"--smoke"' in bench.read_text("utf-8"), f"{bench.name} needs --smoke (tiny sizes, seconds)"
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert 'for b in bench/*.py' in ci and '"$b" --smoke' in ci
