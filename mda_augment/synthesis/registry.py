"""Generator registry: find a generator by versioned name or path, without running it.

A generator file declares ``NAME = "xml_nested_v1"`` (name + ``_v`` + version) and
``KIND = "xml"`` at module level, a module docstring saying what real structure it imitates,
and ``def generate(seed, n)``. The declarations are read with :mod:`ast` (literal values
only), never by importing the file: generator code runs only inside the sandbox.

Generators in the repository's own ``generators/`` folder are trusted to be *run in the
sandbox* without further consent; anything else needs ``allow_code_execution=True``.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import GeneratorError

NAME_RE = re.compile(r"^(?P<base>[a-z][a-z0-9_]*)_v(?P<version>\d+)$")


def repo_generators_dir() -> Path:
    """The repository's top-level ``generators/`` folder (next to the package)."""
    from ..paths import data_dir

    return data_dir("generators")


@dataclass(frozen=True)
class GeneratorSpec:
    """A generator file, identified by name, version and the sha256 of its code."""

    name: str  # full registry name, e.g. "xml_nested_v1"
    base: str  # "xml_nested"
    version: int  # 1
    kind: str  # document kind written to the corpus
    description: str  # first line of the module docstring
    path: Path
    code: str
    sha256: str
    trusted: bool  # lives in the repository's generators/ folder

    def meta(self, seed: int) -> dict:
        """What every document from this generator records about its origin."""
        return {"generator": self.name, "generator_version": self.version,
                "code_sha256": self.sha256, "seed": seed}


def _literal(tree: ast.Module, name: str, path: Path) -> str:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                break
            if isinstance(value, str):
                return value
            break
    raise GeneratorError(f"{path}: needs a module-level string {name} = \"...\"; add it")


def load_spec(path: str | os.PathLike, generators_dir: Path | None = None) -> GeneratorSpec:
    """Read a generator file's declarations; raises :class:`GeneratorError` if malformed."""
    path = Path(path).resolve()
    if not path.is_file():
        raise GeneratorError(f"{path}: no such generator file; pass a .py path or a registry name")
    code = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(code, filename=str(path))
    except SyntaxError as err:
        raise GeneratorError(f"{path}:{err.lineno}: syntax error ({err.msg}); fix the file") from None
    name = _literal(tree, "NAME", path)
    match = NAME_RE.match(name)
    if not match:
        raise GeneratorError(f"{path}: NAME {name!r} must look like 'xml_nested_v1' (lowercase, _vN)")
    if not any(isinstance(n, ast.FunctionDef) and n.name == "generate" for n in tree.body):
        raise GeneratorError(f"{path}: defines no top-level generate(seed, n); add it")
    doc = (ast.get_docstring(tree) or "").strip()
    if not doc:
        raise GeneratorError(f"{path}: needs a module docstring saying what structure it imitates")
    home = (generators_dir or repo_generators_dir()).resolve()
    return GeneratorSpec(
        name=name, base=match["base"], version=int(match["version"]),
        kind=_literal(tree, "KIND", path), description=doc.splitlines()[0], path=path, code=code,
        sha256=hashlib.sha256(code.encode("utf-8")).hexdigest(), trusted=path.parent == home,
    )


def available(generators_dir: Path | None = None) -> dict[str, GeneratorSpec]:
    """All well-formed generators in ``generators_dir`` (default: the repository's), by name."""
    folder = generators_dir or repo_generators_dir()
    specs = {}
    for path in sorted(folder.glob("*.py")):
        try:
            spec = load_spec(path, generators_dir)
        except GeneratorError:
            continue
        specs[spec.name] = spec
    return specs


def resolve(name_or_path: str, generators_dir: Path | None = None) -> GeneratorSpec:
    """A generator by registry name (``xml_nested_v1``; ``xml_nested`` = latest version) or
    by file path."""
    if name_or_path.endswith(".py") or os.sep in name_or_path:
        return load_spec(name_or_path, generators_dir)
    specs = available(generators_dir)
    if name_or_path in specs:
        return specs[name_or_path]
    versions = [s for s in specs.values() if s.base == name_or_path]
    if versions:
        return max(versions, key=lambda s: s.version)
    known = ", ".join(sorted(specs)) or "none"
    raise GeneratorError(f"unknown generator {name_or_path!r}; known: {known}; or pass a .py path")


def require_consent(spec: GeneratorSpec, allow_code_execution: bool) -> None:
    """Refuse code from outside the repository's generators/ unless explicitly allowed."""
    if not spec.trusted and not allow_code_execution:
        raise GeneratorError(
            f"{spec.path}: generator code from outside generators/ runs only with "
            "allow_code_execution=True (CLI: --allow-code-execution)"
        )
