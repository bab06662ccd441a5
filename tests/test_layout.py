"""No artifact file name is spelled in two modules (STYLE.md: "a file name spelled in two
modules is a bug waiting"). Each name is one constant in the module that owns the artifact;
readers import it. Docstrings may mention names; code may not repeat them."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import mda_augment

FILE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_./-]*\.(json|jsonl|parquet|bin|npy|md|png|csv|pt|safetensors|html)$")

# Names that are *different* artifacts in different stages' folders, each spelled once by its owner.
ALLOWED = {
    "summary.json": "three artifacts: cluster/ (clustering.config.SUMMARY), extract/ "
                    "(motifs.extract.SUMMARY) and a run's heads/ (units.report.SUMMARY)",
}


def _docstrings(tree: ast.AST) -> set[int]:
    owners = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, owners) and node.body and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)}


def spellings(package: Path) -> dict[str, set[str]]:
    """File-name string literal -> the modules (paths relative to ``package``) that spell it."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
                    and FILE_NAME.match(node.value)):
                found[node.value].add(path.relative_to(package).as_posix())
    return found


def test_scanner_finds_a_name_spelled_in_two_modules(tmp_path):
    (tmp_path / "a.py").write_text('"""Mentions b.json in a docstring."""\nNAME = "tokens.bin"\n')
    (tmp_path / "b.py").write_text('def f(d):\n    """Reads tokens.bin."""\n    return d / "tokens.bin", ".json"\n')
    (tmp_path / "c.py").write_text('from a import NAME\n')
    found = spellings(tmp_path)
    assert found == {"tokens.bin": {"a.py", "b.py"}}  # docstrings and bare suffixes do not count


def test_no_file_name_is_spelled_in_two_modules():
    found = spellings(Path(mda_augment.__file__).parent)
    twice = {name: sorted(mods) for name, mods in found.items() if len(mods) > 1 and name not in ALLOWED}
    assert not twice, f"define each name once in its owner module and import it: {twice}"


def test_allowlist_is_still_needed():
    found = spellings(Path(mda_augment.__file__).parent)
    stale = [name for name in ALLOWED if len(found.get(name, ())) < 2]
    assert not stale, f"remove from ALLOWED, no longer spelled twice: {stale}"
